"""Hookwise job side: Celery app, tasks, GitHub client, agents."""
