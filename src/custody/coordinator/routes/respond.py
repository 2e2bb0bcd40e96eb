"""Turning a service call into an HTTP answer, with the idempotency and error rules applied."""

from collections.abc import Callable
from typing import TypeVar

from fastapi import Response
from pydantic import BaseModel
from sqlalchemy.orm import Session

from custody.contract.errors import ErrorBody, ErrorCode
from custody.coordinator.auth import Principal
from custody.coordinator.errors import BadRequest
from custody.coordinator.runtime import Runtime
from custody.coordinator.writes import IdempotencyKey, run_write

ERRORS: dict[int | str, dict[str, object]] = {
    code: {"model": ErrorBody} for code in (401, 403, 404, 409, 413, 422)
}

T = TypeVar("T")
Work = Callable[[Session], BaseModel | list[BaseModel]]


def write(
    runtime: Runtime,
    principal: Principal,
    work: Work,
    idempotency_key: str | None,
    method_path: str,
    body: BaseModel | None,
) -> Response:
    """Run a write once and answer with its JSON (the stored first answer on a repeated key)."""
    method, _, path = method_path.partition(" ")
    idem = IdempotencyKey.of(idempotency_key, method, path, body)
    answer = run_write(runtime.sessions, principal, work, idem)
    return Response(content=answer.body, status_code=answer.status, media_type="application/json")


def read(runtime: Runtime, work: Callable[[Session], T]) -> T:
    """Run a read in its own short transaction."""
    with runtime.sessions.begin() as session:
        return work(session)


def require_key(idempotency_key: str | None) -> None:
    """Refuse a POST that has no natural key unless it carries an Idempotency-Key."""
    if idempotency_key is None:
        raise BadRequest(
            ErrorCode.IDEMPOTENCY_KEY_REQUIRED,
            "this request needs an Idempotency-Key header: a retry must not act twice",
            "Idempotency-Key",
        )
