"""``manage.py approvalflow_worker``."""
