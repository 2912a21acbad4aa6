"""Triage benchmarks: quality (F1, Recall@k) and cost (time, memory)."""
