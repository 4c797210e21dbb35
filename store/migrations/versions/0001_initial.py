"""Initial schema: customers, registry, audit log, users, events, outbox and work items.

On PostgreSQL the audit log is also made append-only in the database itself: a trigger refuses
every UPDATE, DELETE and TRUNCATE on audit_entry, whoever the client is.

Revision ID: 0001
Revises:
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies of the model column types (migrations never import the models).
UTC_DATETIME = sa.DateTime(timezone=True)  # timestamptz; naive UTC text on SQLite
MONEY = sa.Numeric(20, 2)
JSON_DOCUMENT = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
BIGINT_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
ENUM = sa.String(32)  # enum values are checked by a named CHECK constraint

VERSION_STATUSES = ("draft", "in_review", "approved", "rejected", "active", "retired")
# Children before parents.
DROP_ORDER = [
    "task",
    "lead",
    "ticket",
    "contact_decision",
    "message",
    "api_key",
    "app_user",
    "audit_entry",
    "ruleset_version",
    "ruleset",
    "event",
    "consent",
    "holding",
    "customer",
]


def _one_of(table: str, column: str, *values: str) -> sa.CheckConstraint:
    allowed = ", ".join(f"'{value}'" for value in values)
    return sa.CheckConstraint(f"{column} IN ({allowed})", name=op.f(f"ck_{table}_{column}"))


def _index(table: str, *columns: str) -> None:
    op.create_index(op.f(f"ix_{table}_{'_'.join(columns)}"), table, list(columns))


APPEND_ONLY_FUNCTION = """
CREATE FUNCTION audit_entry_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_entry is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$
"""
APPEND_ONLY_TRIGGERS = (
    "CREATE TRIGGER audit_entry_append_only BEFORE UPDATE OR DELETE ON audit_entry "
    "FOR EACH ROW EXECUTE FUNCTION audit_entry_refuse_change()",
    "CREATE TRIGGER audit_entry_no_truncate BEFORE TRUNCATE ON audit_entry "
    "FOR EACH STATEMENT EXECUTE FUNCTION audit_entry_refuse_change()",
)


def upgrade() -> None:
    op.create_table(
        "customer",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("kind", ENUM, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("tier", sa.String(16), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("segment", sa.String(32), nullable=True),
        sa.Column("locale", sa.String(16), nullable=False),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("region", sa.String(32), nullable=True),
        sa.Column("branch", sa.String(32), nullable=True),
        sa.Column("relationship_manager", sa.String(64), nullable=True),
        sa.Column("birthday", sa.Date(), nullable=True),
        sa.Column("opened_on", sa.Date(), nullable=True),
        sa.Column("total_assets", MONEY, nullable=False),
        sa.Column("balance", MONEY, nullable=False),
        sa.Column("credit_limit", MONEY, nullable=False),
        sa.Column("balance_growth_90d", sa.Float(), nullable=False),
        sa.Column("credit_score", sa.Integer(), nullable=True),
        sa.Column("last_transaction_at", UTC_DATETIME, nullable=True),
        sa.Column("contract_end_on", sa.Date(), nullable=True),
        sa.Column("phone", sa.String(32), nullable=True),
        sa.Column("email", sa.String(254), nullable=True),
        sa.Column("do_not_disturb", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column(
            "personalisation_opt_out", sa.Boolean(), server_default=sa.false(), nullable=False
        ),
        sa.Column("attributes", JSON_DOCUMENT, server_default=sa.text("'{}'"), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("updated_at", UTC_DATETIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer")),
        _one_of("customer", "kind", "retail", "corporate"),
    )
    for column in ("status", "branch", "relationship_manager", "last_transaction_at"):
        _index("customer", column)

    op.create_table(
        "holding",
        sa.Column("id", BIGINT_ID, nullable=False),
        sa.Column("customer_id", sa.String(32), nullable=False),
        sa.Column("product", sa.String(64), nullable=False),
        sa.Column("opened_on", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customer.id"],
            name=op.f("fk_holding_customer_id_customer"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_holding")),
        sa.UniqueConstraint("customer_id", "product", name=op.f("uq_holding_customer_id_product")),
    )
    op.create_table(
        "consent",
        sa.Column("id", BIGINT_ID, nullable=False),
        sa.Column("customer_id", sa.String(32), nullable=False),
        sa.Column("channel", ENUM, nullable=False),
        sa.Column("purpose", ENUM, nullable=False),
        sa.Column("granted", sa.Boolean(), nullable=False),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("evidence", sa.String(200), nullable=True),
        sa.Column("granted_at", UTC_DATETIME, nullable=False),
        sa.Column("expires_at", UTC_DATETIME, nullable=True),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customer.id"],
            name=op.f("fk_consent_customer_id_customer"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consent")),
        sa.UniqueConstraint(
            "customer_id", "channel", "purpose", name=op.f("uq_consent_customer_id_channel_purpose")
        ),
        _one_of("consent", "channel", "sms", "email", "push", "phone", "all"),
        _one_of("consent", "purpose", "marketing", "service", "personalisation"),
    )

    op.create_table(
        "event",
        sa.Column("id", BIGINT_ID, nullable=False),
        sa.Column("type", sa.String(64), nullable=False),
        sa.Column("customer_id", sa.String(32), nullable=False),
        sa.Column("occurred_at", UTC_DATETIME, nullable=False),
        sa.Column("received_at", UTC_DATETIME, nullable=False),
        sa.Column("payload", JSON_DOCUMENT, nullable=False),
        sa.Column("idempotency_key", sa.String(128), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_event")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_event_idempotency_key")),
    )
    _index("event", "customer_id", "occurred_at")

    op.create_table(
        "ruleset",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ruleset")),
        sa.UniqueConstraint("name", name=op.f("uq_ruleset_name")),
    )
    op.create_table(
        "ruleset_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ruleset_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("status", ENUM, nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("plan", JSON_DOCUMENT, nullable=True),
        sa.Column("plan_hash", sa.String(64), nullable=True),
        sa.Column("author", sa.String(64), nullable=False),
        sa.Column("approver", sa.String(64), nullable=True),
        sa.Column("review_comment", sa.Text(), nullable=True),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("submitted_at", UTC_DATETIME, nullable=True),
        sa.Column("decided_at", UTC_DATETIME, nullable=True),
        sa.Column("activated_at", UTC_DATETIME, nullable=True),
        sa.ForeignKeyConstraint(
            ["ruleset_id"], ["ruleset.id"], name=op.f("fk_ruleset_version_ruleset_id_ruleset")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ruleset_version")),
        sa.UniqueConstraint(
            "ruleset_id", "version", name=op.f("uq_ruleset_version_ruleset_id_version")
        ),
        _one_of("ruleset_version", "status", *VERSION_STATUSES),
    )
    _index("ruleset_version", "status")

    op.create_table(
        "audit_entry",
        sa.Column("id", BIGINT_ID, autoincrement=True, nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("occurred_at", UTC_DATETIME, nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("subject_type", sa.String(32), nullable=False),
        sa.Column("subject_id", sa.String(200), nullable=False),
        sa.Column("ruleset", sa.String(100), nullable=True),
        sa.Column("ruleset_version", sa.Integer(), nullable=True),
        sa.Column("rule", sa.String(100), nullable=True),
        # JSON, not JSONB: the hashed text must read back exactly as written.
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_entry")),
        sa.UniqueConstraint("seq", name=op.f("uq_audit_entry_seq")),
    )
    _index("audit_entry", "occurred_at")
    _index("audit_entry", "subject_type", "subject_id")
    _index("audit_entry", "ruleset", "ruleset_version")
    if op.get_bind().dialect.name == "postgresql":
        op.execute(APPEND_ONLY_FUNCTION)
        for statement in APPEND_ONLY_TRIGGERS:
            op.execute(statement)

    op.create_table(
        "app_user",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("role", ENUM, nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("disabled", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_app_user")),
        sa.UniqueConstraint("name", name=op.f("uq_app_user_name")),
        _one_of(
            "app_user", "role", "marketing_ops", "compliance", "service_desk", "sales", "admin"
        ),
    )
    op.create_table(
        "api_key",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("prefix", sa.String(8), nullable=False),
        sa.Column("key_hash", sa.String(64), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("revoked_at", UTC_DATETIME, nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["app_user.id"], name=op.f("fk_api_key_user_id_app_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_key")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_api_key_key_hash")),
    )
    _index("api_key", "prefix")
    _index("api_key", "user_id")

    op.create_table(
        "message",
        sa.Column("id", BIGINT_ID, nullable=False),
        sa.Column("idempotency_key", sa.String(200), nullable=False),
        sa.Column("workflow_id", sa.String(200), nullable=False),
        sa.Column("step", sa.String(100), nullable=False),
        sa.Column("customer_id", sa.String(32), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("template", sa.String(100), nullable=False),
        sa.Column("status", ENUM, nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("sent_at", UTC_DATETIME, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_message")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_message_idempotency_key")),
        _one_of("message", "status", "pending", "sent", "failed", "suppressed", "deferred"),
    )
    _index("message", "status")
    _index("message", "customer_id", "created_at")

    op.create_table(
        "contact_decision",
        sa.Column("id", BIGINT_ID, nullable=False),
        sa.Column("customer_id", sa.String(32), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("decision", ENUM, nullable=False),
        sa.Column("reason", sa.String(64), nullable=True),
        sa.Column("rule", sa.String(100), nullable=False),
        sa.Column("ruleset", sa.String(100), nullable=False),
        sa.Column("ruleset_version", sa.Integer(), nullable=False),
        sa.Column("template", sa.String(100), nullable=True),
        sa.Column("workflow_id", sa.String(200), nullable=False),
        sa.Column("decided_at", UTC_DATETIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contact_decision")),
        _one_of("contact_decision", "decision", "sent", "suppressed", "deferred"),
    )
    _index("contact_decision", "customer_id", "decided_at")

    op.create_table(
        "ticket",
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("customer_id", sa.String(32), nullable=True),
        sa.Column("category", sa.String(32), nullable=False),
        sa.Column("priority", sa.String(16), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("team", sa.String(64), nullable=False),
        sa.Column("assignee", sa.String(64), nullable=True),
        sa.Column("named_employee", sa.String(64), nullable=True),
        sa.Column("regulatory", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("subject", sa.String(200), nullable=False),
        sa.Column("opened_at", UTC_DATETIME, nullable=False),
        sa.Column("reported_at", UTC_DATETIME, nullable=True),
        sa.Column("first_response_at", UTC_DATETIME, nullable=True),
        sa.Column("resolved_at", UTC_DATETIME, nullable=True),
        sa.Column("updated_at", UTC_DATETIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket")),
    )
    for column in ("customer_id", "status", "assignee"):
        _index("ticket", column)

    op.create_table(
        "lead",
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("customer_id", sa.String(32), nullable=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("region", sa.String(32), nullable=False),
        sa.Column("product", sa.String(64), nullable=True),
        sa.Column("expected_value", MONEY, nullable=False),
        sa.Column("team", sa.String(64), nullable=True),
        sa.Column("owner", sa.String(64), nullable=True),
        sa.Column("customer_level", sa.Integer(), server_default="1", nullable=False),
        sa.Column("contract_end_on", sa.Date(), nullable=True),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("updated_at", UTC_DATETIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lead")),
    )
    for column in ("customer_id", "status", "owner"):
        _index("lead", column)

    op.create_table(
        "task",
        sa.Column("id", BIGINT_ID, nullable=False),
        sa.Column("idempotency_key", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("assignee", sa.String(64), nullable=False),
        sa.Column("customer_id", sa.String(32), nullable=True),
        sa.Column("lead_id", sa.String(40), nullable=True),
        sa.Column("status", sa.String(16), server_default="open", nullable=False),
        sa.Column("due_at", UTC_DATETIME, nullable=True),
        sa.Column("workflow_id", sa.String(200), nullable=False),
        sa.Column("rule", sa.String(100), nullable=True),
        sa.Column("ruleset", sa.String(100), nullable=True),
        sa.Column("ruleset_version", sa.Integer(), nullable=True),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("completed_at", UTC_DATETIME, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_task")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_task_idempotency_key")),
    )
    for column in ("assignee", "customer_id", "lead_id"):
        _index("task", column)


def downgrade() -> None:
    # Dropping a table drops its indexes and triggers with it.
    for table in DROP_ORDER:
        op.drop_table(table)
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS audit_entry_refuse_change()")
