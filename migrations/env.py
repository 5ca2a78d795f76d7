"""Alembic environment: runs on the connection that core.schema hands over."""

from alembic import context
from sqlmodel import SQLModel

import models  # noqa: F401  # registers every table on SQLModel.metadata

target_metadata = SQLModel.metadata
connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through `hero-api migrate` (core.schema.migrate)")

context.configure(
    connection=connection,
    target_metadata=target_metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
