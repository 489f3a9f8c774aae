"""Marque CRM: every lead owned and followed up on time, every customer known once."""
