"""Marque finance: the group's double-entry books, posted from business events (业务财务一体化)."""
