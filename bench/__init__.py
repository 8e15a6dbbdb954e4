"""approvalflow's benchmark suite: run ``python bench/run.py`` (see there)."""
