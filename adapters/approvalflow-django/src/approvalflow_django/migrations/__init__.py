"""The migration that creates approvalflow's tables."""
