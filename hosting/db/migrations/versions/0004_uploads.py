"""uploads of the HTTP API: a claim check per file, per hosting, expiring unless a job uses it

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03 12:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "uploads",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("hosting_number", sa.String(length=12), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("store_key", sa.String(length=300), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("verified", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_by_job", sa.String(length=40), nullable=True),
        sa.ForeignKeyConstraint(["hosting_number"], ["hostings.number"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("store_key"),
    )
    with op.batch_alter_table("uploads") as batch_op:
        batch_op.create_index(batch_op.f("ix_uploads_hosting_number"), ["hosting_number"], unique=False)
        batch_op.create_index(batch_op.f("ix_uploads_expires_at"), ["expires_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_uploads_used_by_job"), ["used_by_job"], unique=False)


def downgrade() -> None:
    op.drop_table("uploads")
