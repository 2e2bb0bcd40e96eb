"""The migrations build exactly the schema the code declares, and the OpenAPI file is current."""

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from custody.coordinator.db.tables import Base
from custody.coordinator.openapi import openapi_json
from custody.coordinator.runtime import Runtime

ROOT = Path(__file__).resolve().parents[3]


def test_migrations_match_the_tables(runtime: Runtime) -> None:
    with runtime.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []


def test_committed_openapi_is_current() -> None:
    committed = (ROOT / "docs" / "api" / "openapi.json").read_text()
    assert committed == openapi_json(), "run `make openapi` and commit docs/api/openapi.json"


def test_served_openapi_is_the_committed_one(runtime: Runtime) -> None:
    import json

    from fastapi.testclient import TestClient

    from custody.coordinator.app import create_app

    with TestClient(create_app(runtime)) as client:
        served = client.get("/openapi.json").json()
    assert json.dumps(served, indent=2, sort_keys=True) + "\n" == openapi_json()
