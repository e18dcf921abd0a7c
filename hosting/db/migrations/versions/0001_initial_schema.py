"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-24 19:15:50.663321
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "audit_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("job_id", sa.String(length=40), nullable=True),
        sa.Column("stage", sa.String(length=32), nullable=True),
        sa.Column("planning_id", sa.String(length=40), nullable=True),
        sa.Column("hosting_number", sa.String(length=12), nullable=True),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_events_action"), ["action"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_events_at"), ["at"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_events_job_id"), ["job_id"], unique=False)

    op.create_table(
        "hostings",
        sa.Column("number", sa.String(length=12), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        sa.Column("invoice_number", sa.String(length=10), nullable=True),
        sa.Column("bound_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("number"),
    )
    op.create_table(
        "sealed_secrets",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("job_id", sa.String(length=40), nullable=True),
        sa.Column("hosting_number", sa.String(length=12), nullable=True),
        sa.Column("subject", sa.String(length=100), nullable=False),
        sa.Column("sealed", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("job_id", "subject"),
    )
    with op.batch_alter_table("sealed_secrets", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sealed_secrets_job_id"), ["job_id"], unique=False)

    op.create_table(
        "controller_users",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("hosting_number", sa.String(length=12), nullable=False),
        sa.Column("login", sa.String(length=64), nullable=False),
        sa.Column("last_name", sa.String(length=200), nullable=False),
        sa.Column("first_name", sa.String(length=200), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("password_hash", sa.String(length=300), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["hosting_number"],
            ["hostings.number"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("hosting_number", "login"),
    )
    with op.batch_alter_table("controller_users", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_controller_users_hosting_number"), ["hosting_number"], unique=False)

    op.create_table(
        "plannings",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("hosting_number", sa.String(length=12), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("controller_domain", sa.String(length=253), nullable=False),
        sa.Column("associate_net", sa.Boolean(), nullable=False),
        sa.Column("domain", sa.String(length=253), nullable=False),
        sa.Column("time_zone", sa.String(length=64), nullable=False),
        sa.Column("publication_name", sa.String(length=200), nullable=True),
        sa.Column("current_base_id", sa.String(length=40), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["hosting_number"],
            ["hostings.number"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("domain"),
    )
    with op.batch_alter_table("plannings", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_plannings_hosting_number"), ["hosting_number"], unique=False)

    op.create_table(
        "bases",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("planning_id", sa.String(length=40), nullable=False),
        sa.Column("job_id", sa.String(length=40), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("base_name", sa.String(length=64), nullable=True),
        sa.Column("time_grid", sa.JSON(), nullable=True),
        sa.Column("row_counts", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("in_service_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("retired_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["planning_id"],
            ["plannings.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("bases", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_bases_job_id"), ["job_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_bases_planning_id"), ["planning_id"], unique=False)
        batch_op.create_index(
            "uq_bases_in_service",
            ["planning_id"],
            unique=True,
            sqlite_where=sa.text("state = 'in_service'"),
            postgresql_where=sa.text("state = 'in_service'"),
        )

    op.create_table(
        "jobs",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("planning_id", sa.String(length=40), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("idempotency_key", sa.String(length=200), nullable=True),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("base_id", sa.String(length=40), nullable=True),
        sa.Column("requested_by", sa.String(length=100), nullable=False),
        sa.Column("cancel_requested", sa.Boolean(), nullable=False),
        sa.Column("error_code", sa.String(length=64), nullable=True),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("error_where", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cleaned_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("discarded_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["planning_id"],
            ["plannings.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("idempotency_key"),
    )
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_jobs_created_at"), ["created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_jobs_planning_id"), ["planning_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_jobs_state"), ["state"], unique=False)
        batch_op.create_index(
            "uq_jobs_active_per_planning",
            ["planning_id"],
            unique=True,
            sqlite_where=sa.text("state IN ('queued', 'running')"),
            postgresql_where=sa.text("state IN ('queued', 'running')"),
        )

    op.create_table(
        "profiles",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("planning_id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("name_key", sa.String(length=80), nullable=False),
        sa.Column("rights", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["planning_id"],
            ["plannings.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("planning_id", "name_key"),
    )
    with op.batch_alter_table("profiles", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_profiles_planning_id"), ["planning_id"], unique=False)

    op.create_table(
        "publications",
        sa.Column("base_id", sa.String(length=40), nullable=False),
        sa.Column("planning_id", sa.String(length=40), nullable=False),
        sa.Column("domain", sa.String(length=253), nullable=False),
        sa.Column("publication_name", sa.String(length=200), nullable=False),
        sa.Column("espaces", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["planning_id"],
            ["plannings.id"],
        ),
        sa.PrimaryKeyConstraint("base_id"),
    )
    with op.batch_alter_table("publications", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_publications_planning_id"), ["planning_id"], unique=False)

    op.create_table(
        "assignments",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("profile_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["profile_id"],
            ["profiles.id"],
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["controller_users.id"],
        ),
        sa.PrimaryKeyConstraint("user_id", "profile_id"),
    )
    op.create_table(
        "stages",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("job_id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("deliveries", sa.Integer(), nullable=False),
        sa.Column("dispatches", sa.Integer(), nullable=False),
        sa.Column("lease_owner", sa.String(length=200), nullable=True),
        sa.Column("lease_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("progress_done", sa.Integer(), nullable=False),
        sa.Column("progress_total", sa.Integer(), nullable=False),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.Column("error_code", sa.String(length=64), nullable=True),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("error_where", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(
            ["job_id"],
            ["jobs.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("job_id", "name"),
    )
    with op.batch_alter_table("stages", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_stages_job_id"), ["job_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_stages_state"), ["state"], unique=False)


def downgrade() -> None:

    with op.batch_alter_table("stages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_stages_state"))
        batch_op.drop_index(batch_op.f("ix_stages_job_id"))

    op.drop_table("stages")
    op.drop_table("assignments")
    with op.batch_alter_table("publications", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_publications_planning_id"))

    op.drop_table("publications")
    with op.batch_alter_table("profiles", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_profiles_planning_id"))

    op.drop_table("profiles")
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_jobs_active_per_planning",
            sqlite_where=sa.text("state IN ('queued', 'running')"),
            postgresql_where=sa.text("state IN ('queued', 'running')"),
        )
        batch_op.drop_index(batch_op.f("ix_jobs_state"))
        batch_op.drop_index(batch_op.f("ix_jobs_planning_id"))
        batch_op.drop_index(batch_op.f("ix_jobs_created_at"))

    op.drop_table("jobs")
    with op.batch_alter_table("bases", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_bases_in_service",
            sqlite_where=sa.text("state = 'in_service'"),
            postgresql_where=sa.text("state = 'in_service'"),
        )
        batch_op.drop_index(batch_op.f("ix_bases_planning_id"))
        batch_op.drop_index(batch_op.f("ix_bases_job_id"))

    op.drop_table("bases")
    with op.batch_alter_table("plannings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_plannings_hosting_number"))

    op.drop_table("plannings")
    with op.batch_alter_table("controller_users", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_controller_users_hosting_number"))

    op.drop_table("controller_users")
    with op.batch_alter_table("sealed_secrets", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sealed_secrets_job_id"))

    op.drop_table("sealed_secrets")
    op.drop_table("hostings")
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_events_job_id"))
        batch_op.drop_index(batch_op.f("ix_audit_events_at"))
        batch_op.drop_index(batch_op.f("ix_audit_events_action"))

    op.drop_table("audit_events")
