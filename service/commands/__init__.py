"""The service's own CLI commands (serve, worker, beat, replay, simulate, db)."""
