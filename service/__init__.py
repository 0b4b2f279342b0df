"""Process plumbing shared by the worker and the starters: settings and logs."""
