"""Intake benchmark: the webhook route beside a bare FastAPI route, in the same run."""
