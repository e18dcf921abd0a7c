"""the operators' dashboard: operator accounts; indexes of the jobs page and the overview; the audit's hash chain

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03 12:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_INDEXES = {
    "ix_jobs_created_id": ("jobs", ["created_at", "id"]),
    "ix_jobs_state_created_id": ("jobs", ["state", "created_at", "id"]),
    "ix_jobs_kind_created_id": ("jobs", ["kind", "created_at", "id"]),
    "ix_jobs_error_code_created": ("jobs", ["error_code", "created_at"]),
    "ix_stages_state_name_due": ("stages", ["state", "name", "due_at"]),
}


def upgrade() -> None:
    op.create_table(
        "operators",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_login_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("name"),
    )
    for name, (table, columns) in _INDEXES.items():
        op.create_index(name, table, columns)
    with op.batch_alter_table("audit_events") as batch_op:
        batch_op.add_column(sa.Column("chain_pos", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("prev_hash", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("row_hash", sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint("uq_audit_events_chain_pos", ["chain_pos"])


def downgrade() -> None:
    with op.batch_alter_table("audit_events") as batch_op:
        batch_op.drop_constraint("uq_audit_events_chain_pos", type_="unique")
        for column in ("row_hash", "prev_hash", "chain_pos"):
            batch_op.drop_column(column)
    for name, (table, _columns) in _INDEXES.items():
        op.drop_index(name, table_name=table)
    op.drop_table("operators")
