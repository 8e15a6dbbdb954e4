"""``python -m approvalflow``: the same command line as ``approvalflow``."""

from approvalflow.cli import main

if __name__ == "__main__":
    main(prog_name="approvalflow")
