"""A local GitHub API simulator for tests, the demo and local trials."""
