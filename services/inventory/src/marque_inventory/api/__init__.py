"""REST API under /api/v1/inventory/ (store-scoped)."""
