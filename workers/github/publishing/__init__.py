"""Publishing a Result to GitHub exactly once: one module per kind of output, one ledger."""
