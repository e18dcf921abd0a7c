"""backups and their nightly runs

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 12:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "backups",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("planning_id", sa.String(length=40), nullable=False),
        sa.Column("hosting_number", sa.String(length=12), nullable=False),
        sa.Column("base_id", sa.String(length=40), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("night", sa.String(length=10), nullable=True),
        sa.Column("key_id", sa.String(length=64), nullable=False),
        sa.Column("objects", sa.JSON(), nullable=False),
        sa.Column("row_counts", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("verified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["planning_id"], ["plannings.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("backups") as batch_op:
        batch_op.create_index(batch_op.f("ix_backups_planning_id"), ["planning_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_backups_hosting_number"), ["hosting_number"], unique=False)
        batch_op.create_index(batch_op.f("ix_backups_created_at"), ["created_at"], unique=False)
    op.create_table(
        "backup_runs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("planning_id", sa.String(length=40), nullable=False),
        sa.Column("night", sa.String(length=10), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("lease_owner", sa.String(length=200), nullable=True),
        sa.Column("lease_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("job_id", sa.String(length=40), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["planning_id"], ["plannings.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("planning_id", "night", name="uq_backup_runs_planning_night"),
    )
    with op.batch_alter_table("backup_runs") as batch_op:
        batch_op.create_index(batch_op.f("ix_backup_runs_planning_id"), ["planning_id"], unique=False)


def downgrade() -> None:
    op.drop_table("backup_runs")
    op.drop_table("backups")
