"""The migrations make exactly the schema the models declare (alembic's autogenerate finds nothing to add)."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from hosting.db.models import Base


def test_the_migrated_schema_is_the_models_schema(db):
    with db.engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []
