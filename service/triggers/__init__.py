"""The automation language: load and validate config, match an event to job specs."""
