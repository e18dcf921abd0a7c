"""espace accounts: logins of teachers and students, login attempts, staff feed secrets, the guest setting

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 12:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "espace_accounts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("planning_id", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("row_id", sa.String(length=64), nullable=False),
        sa.Column("login", sa.String(length=80), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        sa.Column("feed_version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["planning_id"], ["plannings.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("planning_id", "login"),
        sa.UniqueConstraint("planning_id", "kind", "row_id"),
    )
    op.create_index(op.f("ix_espace_accounts_planning_id"), "espace_accounts", ["planning_id"], unique=False)
    op.create_table(
        "espace_login_attempts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("planning_id", sa.String(length=40), nullable=False),
        sa.Column("login", sa.String(length=80), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_espace_login_attempts_who", "espace_login_attempts", ["planning_id", "login"], unique=False)
    op.create_index(op.f("ix_espace_login_attempts_at"), "espace_login_attempts", ["at"], unique=False)
    op.create_table(
        "espace_staff_feeds",
        sa.Column("planning_id", sa.String(length=40), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["planning_id"], ["plannings.id"]),
        sa.ForeignKeyConstraint(["user_id"], ["controller_users.id"]),
        sa.PrimaryKeyConstraint("planning_id", "user_id"),
    )
    op.create_table(
        "espace_settings",
        sa.Column("planning_id", sa.String(length=40), nullable=False),
        sa.Column("guest_rooms", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["planning_id"], ["plannings.id"]),
        sa.PrimaryKeyConstraint("planning_id"),
    )


def downgrade() -> None:
    op.drop_table("espace_settings")
    op.drop_table("espace_staff_feeds")
    op.drop_table("espace_login_attempts")
    op.drop_table("espace_accounts")
