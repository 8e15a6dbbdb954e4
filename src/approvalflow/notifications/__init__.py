"""Telling clients and the firm: emails, portal tasks and Inbox+, from the log."""
