"""Fixtures for every suite: real SQLite and PostgreSQL databases and the coordinator on them."""

import shutil
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from fastapi.testclient import TestClient

from custody.coordinator.app import create_app
from custody.coordinator.db.engine import make_engine, make_sessionmaker
from custody.coordinator.db.migrate import upgrade
from custody.coordinator.runtime import Runtime
from custody.coordinator.settings import CoordinatorSettings
from tests.support.api import Api, test_config
from tests.support.databases import (
    PG_ADMIN_DSN,
    create_pg_database,
    drop_pg_database,
    pg_url,
    truncate_all,
)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this test run, migrated, dropped afterwards.

    Never skips: `make test` installs and starts PostgreSQL, so a missing server is a failure.
    """
    try:
        psycopg.connect(PG_ADMIN_DSN, connect_timeout=5).close()
    except psycopg.OperationalError as e:
        pytest.fail(f"PostgreSQL is not reachable ({e}); run `make setup`")
    name = create_pg_database()
    url = pg_url(name)
    upgrade(url)
    yield url
    drop_pg_database(name)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied for each test (migrating once is faster)."""
    path = tmp_path_factory.mktemp("sqlite-template") / "custody.sqlite3"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> Iterator[str]:
    """Each test runs on both databases; each starts empty."""
    if request.param == "sqlite":
        path = tmp_path / "custody.sqlite3"
        shutil.copy(sqlite_template, path)
        yield f"sqlite:///{path}"
        return
    url: str = request.getfixturevalue("postgres_url")
    engine = make_engine(url)
    truncate_all(engine)
    engine.dispose()
    yield url


def _runtime(url: str) -> Runtime:
    settings = CoordinatorSettings(database_url=url, migrate_on_start=False, max_body_bytes=65536)
    engine = make_engine(url)
    return Runtime(
        settings=settings, config=test_config(), engine=engine, sessions=make_sessionmaker(engine)
    )


@pytest.fixture
def runtime(db_url: str) -> Iterator[Runtime]:
    """A coordinator runtime on the test database with the test currencies."""
    runtime = _runtime(db_url)
    yield runtime
    runtime.engine.dispose()


@pytest.fixture
def pg_runtime(postgres_url: str) -> Iterator[Runtime]:
    """A runtime on PostgreSQL only, emptied first: for what only a concurrent server shows."""
    runtime = _runtime(postgres_url)
    truncate_all(runtime.engine)
    yield runtime
    runtime.engine.dispose()


@pytest.fixture
def api(runtime: Runtime) -> Iterator[Api]:
    """The coordinator in-process, with a client per role."""
    with TestClient(create_app(runtime), raise_server_exceptions=False) as client:
        yield Api(runtime, client)
