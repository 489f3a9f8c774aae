"""CRM's rulebook: pure Python, no FastAPI, SQLModel or aio-pika.

- `contact`: mobile numbers (+86 / E.164), 身份证 checksums, masking;
- further modules: customers and merging, leads and the funnel, assignment and SLAs, follow-up
  tasks, tags/segments/campaigns, complaints.
"""
