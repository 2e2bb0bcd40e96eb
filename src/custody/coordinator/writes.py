"""Every write runs here: one transaction, retried on a lost race, replayed for a repeated key.

A POST is idempotent by its natural key (the service finds the existing row and answers as the
first time) or by an `Idempotency-Key` header, whose first answer is stored in the same
transaction as the write and returned for every repeat.
"""

import hashlib
from collections.abc import Callable
from dataclasses import dataclass

from pydantic import BaseModel
from sqlalchemy.exc import DataError, IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from custody.contract.errors import ErrorCode
from custody.coordinator.auth import Principal
from custody.coordinator.db.tables import AuditRow, IdempotencyRow
from custody.coordinator.errors import BadRequest, Conflict

# Concurrent writers that lose a unique-key race retry; the retry finds the winner's row.
_ATTEMPTS = 5


@dataclass(frozen=True)
class IdempotencyKey:
    """The header's key with a hash of what was asked, to catch a key reused for another call."""

    key: str
    request_hash: str

    @classmethod
    def of(
        cls, key: str | None, method: str, path: str, body: BaseModel | None
    ) -> "IdempotencyKey | None":
        """None when the caller sent no key."""
        if key is None:
            return None
        if not 1 <= len(key) <= 200 or not key.isprintable():
            raise BadRequest(
                ErrorCode.INVALID_REQUEST,
                "Idempotency-Key must be 1-200 printable characters",
                "Idempotency-Key",
            )
        canonical = f"{method} {path}\n{body.model_dump_json() if body else ''}"
        return cls(key=key, request_hash=hashlib.sha256(canonical.encode()).hexdigest())


@dataclass(frozen=True)
class Answer:
    """A response ready to send: status and JSON text."""

    status: int
    body: str


def run_write(
    sessions: sessionmaker[Session],
    principal: Principal,
    work: Callable[[Session], BaseModel | list[BaseModel]],
    idem: IdempotencyKey | None = None,
    status: int = 200,
) -> Answer:
    """Run `work` in a transaction and answer with its result, exactly once per key."""
    for attempt in range(_ATTEMPTS):
        try:
            with sessions.begin() as session:
                return _once(session, principal, work, idem, status)
        except DataError as e:
            # A value the database cannot hold (a sum past NUMERIC(78,0), say): the client's
            # input, not a server fault. The transaction rolled back: nothing was written.
            raise BadRequest(
                ErrorCode.INVALID_REQUEST, "a value in the request is out of range", None
            ) from e
        except (IntegrityError, OperationalError):
            # Lost a race on a unique key (or a PostgreSQL serialization hiccup): the state
            # moved under us. Start over; the next attempt sees the winner's row.
            if attempt == _ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")


def _once(
    session: Session,
    principal: Principal,
    work: Callable[[Session], BaseModel | list[BaseModel]],
    idem: IdempotencyKey | None,
    status: int,
) -> Answer:
    if idem is not None:
        stored = session.get(IdempotencyRow, (principal.token_id, idem.key))
        if stored is not None:
            if stored.request_hash != idem.request_hash:
                raise Conflict(
                    ErrorCode.IDEMPOTENCY_KEY_REUSED,
                    "this Idempotency-Key was used for a different request",
                    "Idempotency-Key",
                )
            return Answer(stored.status_code, stored.response_body)
    result = work(session)
    body = _to_json(result)
    if idem is not None:
        session.add(
            IdempotencyRow(
                token_id=principal.token_id,
                key=idem.key,
                request_hash=idem.request_hash,
                status_code=status,
                response_body=body,
            )
        )
        session.flush()
    return Answer(status, body)


def _to_json(result: BaseModel | list[BaseModel]) -> str:
    if isinstance(result, list):
        return "[" + ",".join(item.model_dump_json() for item in result) + "]"
    return result.model_dump_json()


def audit(
    session: Session, principal: Principal, action: str, object_id: str, detail: str = ""
) -> None:
    """Record a state change in the audit log, inside the same transaction."""
    session.add(AuditRow(actor=principal.actor, action=action, object_id=object_id, detail=detail))
