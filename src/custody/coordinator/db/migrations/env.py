"""Alembic environment: runs migrations online against the configured database URL."""

from alembic import context
from sqlalchemy import engine_from_config, pool

from custody.coordinator.db.tables import Base

config = context.config


def run_migrations_online() -> None:
    """Run every pending migration in one transaction."""
    connectable = engine_from_config(
        config.get_section(config.config_ini_section) or {},
        prefix="sqlalchemy.",
        poolclass=pool.NullPool,
    )
    with connectable.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=Base.metadata,
            render_as_batch=connection.dialect.name == "sqlite",
        )
        with context.begin_transaction():
            context.run_migrations()


run_migrations_online()
