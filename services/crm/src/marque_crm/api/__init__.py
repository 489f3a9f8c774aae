"""CRM's HTTP API under /api/v1/crm/..."""
