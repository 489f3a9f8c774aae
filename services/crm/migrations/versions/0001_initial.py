"""CRM's first schema: platform tables, customers (PII sealed, merge tombstones), consents,
vehicles owned, the append-only timeline, leads and their transitions, assignment and SLA
escalations, follow-up tasks and notifications, tags/segments/campaigns, complaints, store rules.

Revision ID: 0001
Revises:
Create Date: 2026-11-27
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op
from sqlalchemy.dialects import postgresql

from marque_crm.models.customers import timeline_append_only_ddl
from marque_kit.migrations import create_platform_tables, drop_platform_tables

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_platform_tables(op)
    op.create_table(
        "assignment_cursors",
        sa.Column("store_id", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("route_key", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("last_subject", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("store_id", "route_key"),
    )
    op.create_table(
        "campaign_recipients",
        sa.Column("campaign_id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("customer_id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("address_masked", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(length=30), nullable=False),
        sa.Column("provider_id", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column("error", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.Column("retryable", sa.Boolean(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("campaign_id", "customer_id"),
    )
    op.create_index(
        "campaign_recipients_status", "campaign_recipients", ["campaign_id", "status"], unique=False
    )
    op.create_table(
        "campaigns",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("segment_id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("store_ids", postgresql.ARRAY(sa.String(length=20)), nullable=False),
        sa.Column("channel", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("template", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("scheduled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cap_max_messages", sa.Integer(), nullable=False),
        sa.Column("cap_per_days", sa.Integer(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
        sa.Column("created_by", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("last_sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_campaigns_segment_id"), "campaigns", ["segment_id"], unique=False)
    op.create_table(
        "complaints",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("store_id", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("customer_id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("department", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("category", sqlmodel.sql.sqltypes.AutoString(length=30), nullable=False),
        sa.Column("severity", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("channel", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("summary", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("details", sqlmodel.sql.sqltypes.AutoString(length=4000), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
        sa.Column("respond_by", sa.DateTime(timezone=True), nullable=False),
        sa.Column("responded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("assignee", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column("repair_order", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("vin", sqlmodel.sql.sqltypes.AutoString(length=17), nullable=False),
        sa.Column("resolution", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("registered_by", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "complaints_store_respond_by", "complaints", ["store_id", "respond_by"], unique=False
    )
    op.create_index("complaints_store_status", "complaints", ["store_id", "status"], unique=False)
    op.create_index(op.f("ix_complaints_customer_id"), "complaints", ["customer_id"], unique=False)
    op.create_table(
        "consultants",
        sa.Column("store_id", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("subject", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("role", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("on_duty", sa.Boolean(), nullable=False),
        sa.Column("on_leave_from", sa.Date(), nullable=True),
        sa.Column("on_leave_until", sa.Date(), nullable=True),
        sa.Column("max_open_leads", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_by", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("store_id", "subject"),
    )
    op.create_table(
        "crm_rpc_requests",
        sa.Column("request_id", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("method", sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
        sa.Column("request_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("customer_id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
        sa.Column("customer_created", sa.Boolean(), nullable=False),
        sa.Column(
            "at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.PrimaryKeyConstraint("request_id"),
    )
    op.create_table(
        "customer_consents",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("customer_id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("given_by", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("channel", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("granted", sa.Boolean(), nullable=False),
        sa.Column("source", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("store_id", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("recorded_by", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column(
            "recorded_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "customer_consents_by_customer",
        "customer_consents",
        ["customer_id", "channel", "at"],
        unique=False,
    )
    op.create_table(
        "customer_facts",
        sa.Column("customer_id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("lifetime_spend_fen", sa.BigInteger(), nullable=False),
        sa.Column("first_purchase", sa.Boolean(), nullable=True),
        sa.Column("last_service_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("customer_id"),
    )
    op.create_table(
        "customer_merges",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("survivor_id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("merged_id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("store_id", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("actor", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("moved", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("merged_id"),
    )
    op.create_index(
        op.f("ix_customer_merges_survivor_id"), "customer_merges", ["survivor_id"], unique=False
    )
    op.create_table(
        "customer_tags",
        sa.Column("customer_id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("tag_id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("source", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("by", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.PrimaryKeyConstraint("customer_id", "tag_id"),
    )
    op.create_index(
        "customer_tags_by_tag", "customer_tags", ["tag_id", "customer_id"], unique=False
    )
    op.create_table(
        "customers",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("mobile_sealed", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("mobile_index", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("mobile_masked", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("national_id_sealed", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("national_id_index", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("national_id_masked", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("wechat_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("gender", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("birthday", sa.Date(), nullable=True),
        sa.Column("city", sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
        sa.Column("address_sealed", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("address_masked", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("store_id", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("owner", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column("source", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("merged_into", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "customers_name_prefix",
        "customers",
        ["name"],
        unique=False,
        postgresql_ops={"name": "text_pattern_ops"},
    )
    op.create_index(
        "customers_one_per_mobile",
        "customers",
        ["mobile_index"],
        unique=True,
        postgresql_where=sa.text("merged_into IS NULL"),
    )
    op.create_index(
        "customers_one_per_national_id",
        "customers",
        ["national_id_index"],
        unique=True,
        postgresql_where=sa.text("merged_into IS NULL AND national_id_index IS NOT NULL"),
    )
    op.create_index("customers_store_owner", "customers", ["store_id", "owner"], unique=False)
    op.create_index(op.f("ix_customers_merged_into"), "customers", ["merged_into"], unique=False)
    op.create_table(
        "lead_assignments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("lead_id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("store_id", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("assignee", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column("previous", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column("strategy", sqlmodel.sql.sqltypes.AutoString(length=30), nullable=False),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("actor", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("lead_assignments_lead_at", "lead_assignments", ["lead_id", "at"], unique=False)
    op.create_table(
        "lead_transitions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("lead_id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("store_id", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("from_status", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("to_status", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        op.f("ix_lead_transitions_lead_id"), "lead_transitions", ["lead_id"], unique=False
    )
    op.create_table(
        "leads",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("store_id", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("customer_id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("channel", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("grade", sqlmodel.sql.sqltypes.AutoString(length=1), nullable=False),
        sa.Column("model_code", sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
        sa.Column("trim_code", sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
        sa.Column("budget_min_fen", sa.BigInteger(), nullable=True),
        sa.Column("budget_max_fen", sa.BigInteger(), nullable=True),
        sa.Column("timeframe", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("payment_intention", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("trade_in", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("comments", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
        sa.Column("assigned_to", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column("assigned_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("first_contacted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("first_response_business_minutes", sa.Integer(), nullable=True),
        sa.Column("first_response_after_hours", sa.Boolean(), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_reason", sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
        sa.Column("source_ref", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column("duplicate_count", sa.Integer(), nullable=False),
        sa.Column("last_enquiry_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_by", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_leads_assigned_to"), "leads", ["assigned_to"], unique=False)
    op.create_index(op.f("ix_leads_customer_id"), "leads", ["customer_id"], unique=False)
    op.create_index(
        "leads_one_open_per_customer",
        "leads",
        ["store_id", "customer_id"],
        unique=True,
        postgresql_where=sa.text("status NOT IN ('won', 'lost', 'invalid')"),
    )
    op.create_index(
        "leads_one_per_source_ref",
        "leads",
        ["channel", "source_ref"],
        unique=True,
        postgresql_where=sa.text("source_ref <> ''"),
    )
    op.create_index("leads_store_created", "leads", ["store_id", "created_at"], unique=False)
    op.create_index("leads_store_status", "leads", ["store_id", "status"], unique=False)
    op.create_table(
        "marketing_sends",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("campaign_id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("channel", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("campaign_id", "customer_id", name="marketing_sends_once_per_campaign"),
    )
    op.create_index(
        "marketing_sends_customer_at", "marketing_sends", ["customer_id", "at"], unique=False
    )
    op.create_table(
        "notifications",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("store_id", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("task_id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
        sa.Column("campaign_id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
        sa.Column("ref", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("channel", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("to_masked", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("provider_id", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column("error", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column(
            "at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        op.f("ix_notifications_campaign_id"), "notifications", ["campaign_id"], unique=False
    )
    op.create_index(op.f("ix_notifications_store_id"), "notifications", ["store_id"], unique=False)
    op.create_index(op.f("ix_notifications_task_id"), "notifications", ["task_id"], unique=False)
    op.create_table(
        "owned_vehicles",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("customer_id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("vin", sqlmodel.sql.sqltypes.AutoString(length=17), nullable=False),
        sa.Column("plate", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("model_code", sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
        sa.Column("bought", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("store_id", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("purchased_on", sa.Date(), nullable=True),
        sa.Column("sold_on", sa.Date(), nullable=True),
        sa.Column("source", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_by", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "owned_vehicles_one_per_customer", "owned_vehicles", ["customer_id", "vin"], unique=True
    )
    op.create_index("owned_vehicles_vin", "owned_vehicles", ["vin"], unique=False)
    op.create_table(
        "segments",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("store_ids", postgresql.ARRAY(sa.String(length=20)), nullable=False),
        sa.Column("spec", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("created_by", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "sla_escalations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("lead_id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("store_id", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("assignee", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column("escalated_to", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("sla_minutes", sa.Integer(), nullable=False),
        sa.Column("elapsed_minutes", sa.Integer(), nullable=False),
        sa.Column("reassigned_to", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("lead_id", "assignee", name="sla_escalations_once"),
    )
    op.create_index("sla_escalations_store_at", "sla_escalations", ["store_id", "at"], unique=False)
    op.create_table(
        "store_rules",
        sa.Column("store_id", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("rules", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_by", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("store_id"),
    )
    op.create_table(
        "tag_rule_config",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("vip_lifetime_spend_fen", sa.BigInteger(), nullable=False),
        sa.Column("churn_months", sa.Integer(), nullable=False),
        sa.Column("enabled", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_by", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "tags",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("store_id", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("colour", sqlmodel.sql.sqltypes.AutoString(length=7), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("rule", sqlmodel.sql.sqltypes.AutoString(length=30), nullable=False),
        sa.Column("description", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("created_by", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("store_id", "name", name="tags_one_name_per_store"),
    )
    op.create_index(op.f("ix_tags_store_id"), "tags", ["store_id"], unique=False)
    op.create_index(
        "tags_one_per_rule", "tags", ["rule"], unique=True, postgresql_where=sa.text("rule <> ''")
    )
    op.create_table(
        "tasks",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("store_id", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("customer_id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("lead_id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
        sa.Column("assignee", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("title", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("note", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("completed_by", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column("outcome", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
        sa.Column("notified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("dedupe_key", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("created_by", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("dedupe_key"),
    )
    op.create_index(op.f("ix_tasks_customer_id"), "tasks", ["customer_id"], unique=False)
    op.create_index(
        "tasks_assignee_open",
        "tasks",
        ["assignee", "due_at"],
        unique=False,
        postgresql_where=sa.text("status = 'open'"),
    )
    op.create_index("tasks_lead", "tasks", ["lead_id"], unique=False)
    op.create_index("tasks_store_due", "tasks", ["store_id", "due_at"], unique=False)
    op.create_index(
        "tasks_to_notify",
        "tasks",
        ["due_at"],
        unique=False,
        postgresql_where=sa.text("status = 'open' AND notified_at IS NULL"),
    )
    op.create_table(
        "timeline_entries",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("customer_id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("store_id", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("summary", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
        sa.Column("actor", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column("ref", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "timeline_by_customer", "timeline_entries", ["customer_id", "at", "id"], unique=False
    )
    for statement in timeline_append_only_ddl():
        op.execute(statement)


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS timeline_entries_append_only ON timeline_entries")
    op.execute("DROP TRIGGER IF EXISTS timeline_entries_no_truncate ON timeline_entries")
    op.execute("DROP FUNCTION IF EXISTS timeline_entries_append_only()")
    op.drop_index("timeline_by_customer", table_name="timeline_entries")
    op.drop_table("timeline_entries")
    op.drop_index(
        "tasks_to_notify",
        table_name="tasks",
        postgresql_where=sa.text("status = 'open' AND notified_at IS NULL"),
    )
    op.drop_index("tasks_store_due", table_name="tasks")
    op.drop_index("tasks_lead", table_name="tasks")
    op.drop_index(
        "tasks_assignee_open", table_name="tasks", postgresql_where=sa.text("status = 'open'")
    )
    op.drop_index(op.f("ix_tasks_customer_id"), table_name="tasks")
    op.drop_table("tasks")
    op.drop_index("tags_one_per_rule", table_name="tags", postgresql_where=sa.text("rule <> ''"))
    op.drop_index(op.f("ix_tags_store_id"), table_name="tags")
    op.drop_table("tags")
    op.drop_table("tag_rule_config")
    op.drop_table("store_rules")
    op.drop_index("sla_escalations_store_at", table_name="sla_escalations")
    op.drop_table("sla_escalations")
    op.drop_table("segments")
    op.drop_index("owned_vehicles_vin", table_name="owned_vehicles")
    op.drop_index("owned_vehicles_one_per_customer", table_name="owned_vehicles")
    op.drop_table("owned_vehicles")
    op.drop_index(op.f("ix_notifications_task_id"), table_name="notifications")
    op.drop_index(op.f("ix_notifications_store_id"), table_name="notifications")
    op.drop_index(op.f("ix_notifications_campaign_id"), table_name="notifications")
    op.drop_table("notifications")
    op.drop_index("marketing_sends_customer_at", table_name="marketing_sends")
    op.drop_table("marketing_sends")
    op.drop_index("leads_store_status", table_name="leads")
    op.drop_index("leads_store_created", table_name="leads")
    op.drop_index(
        "leads_one_per_source_ref", table_name="leads", postgresql_where=sa.text("source_ref <> ''")
    )
    op.drop_index(
        "leads_one_open_per_customer",
        table_name="leads",
        postgresql_where=sa.text("status NOT IN ('won', 'lost', 'invalid')"),
    )
    op.drop_index(op.f("ix_leads_customer_id"), table_name="leads")
    op.drop_index(op.f("ix_leads_assigned_to"), table_name="leads")
    op.drop_table("leads")
    op.drop_index(op.f("ix_lead_transitions_lead_id"), table_name="lead_transitions")
    op.drop_table("lead_transitions")
    op.drop_index("lead_assignments_lead_at", table_name="lead_assignments")
    op.drop_table("lead_assignments")
    op.drop_index(op.f("ix_customers_merged_into"), table_name="customers")
    op.drop_index("customers_store_owner", table_name="customers")
    op.drop_index(
        "customers_one_per_national_id",
        table_name="customers",
        postgresql_where=sa.text("merged_into IS NULL AND national_id_index IS NOT NULL"),
    )
    op.drop_index(
        "customers_one_per_mobile",
        table_name="customers",
        postgresql_where=sa.text("merged_into IS NULL"),
    )
    op.drop_index(
        "customers_name_prefix", table_name="customers", postgresql_ops={"name": "text_pattern_ops"}
    )
    op.drop_table("customers")
    op.drop_index("customer_tags_by_tag", table_name="customer_tags")
    op.drop_table("customer_tags")
    op.drop_index(op.f("ix_customer_merges_survivor_id"), table_name="customer_merges")
    op.drop_table("customer_merges")
    op.drop_table("customer_facts")
    op.drop_index("customer_consents_by_customer", table_name="customer_consents")
    op.drop_table("customer_consents")
    op.drop_table("crm_rpc_requests")
    op.drop_table("consultants")
    op.drop_index(op.f("ix_complaints_customer_id"), table_name="complaints")
    op.drop_index("complaints_store_status", table_name="complaints")
    op.drop_index("complaints_store_respond_by", table_name="complaints")
    op.drop_table("complaints")
    op.drop_index(op.f("ix_campaigns_segment_id"), table_name="campaigns")
    op.drop_table("campaigns")
    op.drop_index("campaign_recipients_status", table_name="campaign_recipients")
    op.drop_table("campaign_recipients")
    op.drop_table("assignment_cursors")
    drop_platform_tables(op)
