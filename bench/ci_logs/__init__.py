"""CI-log core benchmark: parse time of large logs against plain line iteration, and memory."""
