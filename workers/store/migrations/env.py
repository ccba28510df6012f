"""Alembic environment: the URL comes from the caller (`workers.store.migrate`), never from an ini file."""

from alembic import context

import workers.store.schema_admin  # noqa: F401 - its tables join Base.metadata
import workers.store.schema_mail_sources  # noqa: F401 - its tables join Base.metadata
import workers.store.schema_webhooks  # noqa: F401 - its tables join Base.metadata
from workers.store.engine import make_engine
from workers.store.schema import Base

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    connectable = config.attributes.get("connection") or make_engine(
        config.get_main_option("sqlalchemy.url")
    )
    if hasattr(connectable, "connect"):
        with connectable.connect() as connection:
            _run(connection)
    else:
        _run(connectable)


def _run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations_online()
