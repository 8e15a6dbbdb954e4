"""The approval domain: aggregate, events, value types and errors. No I/O."""
