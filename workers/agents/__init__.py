"""Agents: plain functions from a typed context to a typed Result."""
