"""Management commands of approvalflow's Django app."""
