"""Database engines: SQLite tuned for durability (WAL, synchronous=FULL) or PostgreSQL."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import sessionmaker

from ingest.stored_json import json_column_text
from workers.store.private_files import private_dir, private_file
from workers.store.sqlite_turns import PATIENCE, connection_factory


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets the listener and the workers write concurrently; FULL fsyncs each commit,
    # which is what makes "committed before 250" true after a power cut.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute(f"PRAGMA busy_timeout={int(PATIENCE * 1000)}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        connect_args: dict = {"timeout": PATIENCE}
        if path and path != ":memory:":
            private_dir(Path(path).parent)
            private_file(path)  # 0600 before SQLite opens it; its WAL and SHM follow its mode
            connect_args["factory"] = connection_factory(path)  # writers take turns
        engine = create_engine(url, connect_args=connect_args, json_serializer=json_column_text)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return create_engine(
        url, pool_pre_ping=True, pool_size=10, max_overflow=20, json_serializer=json_column_text
    )


@lru_cache(maxsize=8)
def engine_for(url: str) -> Engine:
    """One engine per URL per process."""
    return make_engine(url)


def session_factory(url: str) -> sessionmaker:
    return sessionmaker(engine_for(url), expire_on_commit=False)
