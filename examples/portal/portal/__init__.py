"""The example portal: the firm's and its clients' pages on approvalflow."""
