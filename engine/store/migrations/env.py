"""Alembic environment: migrations run on the connection handed in by ``engine.store.migrate``."""

from alembic import context

from engine.store.models import Base

connection = context.config.attributes.get("connection")
context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
