"""CI failure extraction: failing tests, errors and excerpts from CI logs."""
