"""Hookwise web side and shared core: intake, triggers, store, API."""
