"""Triage core: issue type, possible duplicates and missing information, offline."""
