"""Test support: each run gets its own databases and broker names (see plugin.py)."""
