"""The example host's own app: staff, clients, documents, and approval views."""
