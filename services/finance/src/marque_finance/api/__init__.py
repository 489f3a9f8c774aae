"""Finance's HTTP API under /api/v1/finance/..."""
