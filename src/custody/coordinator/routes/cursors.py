"""Cursor routes: the watcher's scan position per currency."""

from fastapi import APIRouter

from custody.contract.cursors import ChainCursor, CursorUpdate
from custody.coordinator.auth import Principal, Role
from custody.coordinator.routes.respond import ERRORS, read
from custody.coordinator.runtime import RuntimeDep, caller
from custody.coordinator.services import cursors
from custody.coordinator.writes import run_write

router = APIRouter(tags=["cursors"], responses=ERRORS)


@router.get(
    "/cursors/{currency}",
    response_model=ChainCursor,
    dependencies=[caller(Role.WATCHER, Role.OPERATOR)],
)
def get_cursor(currency: str, runtime: RuntimeDep) -> ChainCursor:
    """The stored scan position (404 before the first PUT)."""
    return read(runtime, lambda s: cursors.get(s, runtime.config, currency))


@router.put("/cursors/{currency}", response_model=ChainCursor)
def put_cursor(
    currency: str, body: CursorUpdate, runtime: RuntimeDep, who: Principal = caller(Role.WATCHER)
) -> ChainCursor:
    """Store the scan position; PUT is idempotent by nature."""
    answer = run_write(
        runtime.sessions, who, lambda s: cursors.put(s, runtime.config, currency, body)
    )
    return ChainCursor.model_validate_json(answer.body)
