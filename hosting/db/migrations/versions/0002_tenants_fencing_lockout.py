"""tenants, fencing and lockout: planning names and idempotency keys per hosting, the base
generation (fencing token), login attempts

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-03 08:55:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# SQLite's reflected constraints have no names: the batch copy names them by this convention.
_NAMING = {"uq": "uq_%(table_name)s_%(column_0_name)s"}


def _old_key_constraint() -> str:
    return "jobs_idempotency_key_key" if op.get_bind().dialect.name == "postgresql" else "uq_jobs_idempotency_key"


def upgrade() -> None:
    with op.batch_alter_table("plannings", naming_convention=_NAMING) as batch_op:
        batch_op.add_column(sa.Column("base_generation", sa.Integer(), nullable=False, server_default="0"))
        batch_op.create_unique_constraint("uq_plannings_hosting_name", ["hosting_number", "name"])
    with op.batch_alter_table("jobs", naming_convention=_NAMING) as batch_op:
        batch_op.add_column(sa.Column("hosting_number", sa.String(length=12), nullable=True))
        batch_op.add_column(sa.Column("request_hash", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("fence", sa.Integer(), nullable=False, server_default="0"))
        batch_op.drop_constraint(_old_key_constraint(), type_="unique")
        batch_op.create_index(batch_op.f("ix_jobs_hosting_number"), ["hosting_number"], unique=False)
        batch_op.create_unique_constraint("uq_jobs_hosting_idempotency_key", ["hosting_number", "idempotency_key"])
    op.execute("UPDATE jobs SET hosting_number = (SELECT plannings.hosting_number FROM plannings"
               " WHERE plannings.id = jobs.planning_id)")
    op.create_table(
        "login_attempts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("hosting_number", sa.String(length=12), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("source", sa.String(length=100), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("login_attempts") as batch_op:
        batch_op.create_index(batch_op.f("ix_login_attempts_hosting_number"), ["hosting_number"], unique=False)
        batch_op.create_index(batch_op.f("ix_login_attempts_at"), ["at"], unique=False)


def downgrade() -> None:
    op.drop_table("login_attempts")
    with op.batch_alter_table("jobs", naming_convention=_NAMING) as batch_op:
        batch_op.drop_constraint("uq_jobs_hosting_idempotency_key", type_="unique")
        batch_op.drop_index(batch_op.f("ix_jobs_hosting_number"))
        batch_op.create_unique_constraint(_old_key_constraint(), ["idempotency_key"])
        batch_op.drop_column("fence")
        batch_op.drop_column("request_hash")
        batch_op.drop_column("hosting_number")
    with op.batch_alter_table("plannings", naming_convention=_NAMING) as batch_op:
        batch_op.drop_constraint("uq_plannings_hosting_name", type_="unique")
        batch_op.drop_column("base_generation")
