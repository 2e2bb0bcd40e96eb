"""Real test databases: a migrated SQLite file per test, one PostgreSQL database per run."""

import os
import uuid

import psycopg
from sqlalchemy import Engine, text

from custody.coordinator.db.tables import Base

PG_HOST = os.environ.get("CUSTODY_TEST_PG_HOST", "127.0.0.1")
PG_ADMIN_DSN = f"host={PG_HOST} port=5432 user=postgres dbname=postgres"


def pg_url(name: str) -> str:
    """SQLAlchemy URL of a database on the test server."""
    return f"postgresql+psycopg://postgres@{PG_HOST}:5432/{name}"


def create_pg_database() -> str:
    """Create a fresh, uniquely named database; return its name."""
    name = f"custody_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')  # name is generated here, not user input
    return name


def drop_pg_database(name: str) -> None:
    """Drop a test database, ending any connection still open to it."""
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def truncate_all(engine: Engine) -> None:
    """Empty every coordinator table (PostgreSQL), restarting identity sequences."""
    names = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
