"""Marque inventory: the model catalog, vehicles by VIN, parts stock and cross-store transfers."""
