"""Talking to GitHub: App and token auth, one client factory, error classification, publishing."""
