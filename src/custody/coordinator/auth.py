"""Bearer tokens with one role each; every route names the roles that may call it."""

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from custody.contract.errors import ErrorCode
from custody.coordinator.db.tables import ApiToken
from custody.coordinator.errors import Forbidden, Unauthenticated


class Role(StrEnum):
    """The four callers. A role can take only its own steps."""

    EXCHANGE = "exchange"
    WATCHER = "watcher"
    SIGNER = "signer"
    OPERATOR = "operator"


@dataclass(frozen=True)
class Principal:
    """Who is calling: the token's id, name and role."""

    token_id: str
    name: str
    role: Role

    @property
    def actor(self) -> str:
        """How the audit log names the caller."""
        return f"{self.role}:{self.name}"


def hash_token(token: str) -> str:
    """Tokens are 256-bit random strings, so a plain SHA-256 is a safe stored form."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_token(session: Session, role: Role, name: str) -> str:
    """Store a new token's hash and return the token itself (shown once)."""
    token = f"cst_{role.value}_{secrets.token_urlsafe(32)}"
    session.add(
        ApiToken(
            id=f"tok_{uuid.uuid4().hex}", name=name, role=role.value, token_hash=hash_token(token)
        )
    )
    return token


def authenticate(session: Session, authorization: str | None) -> Principal:
    """The principal behind an `Authorization: Bearer …` header, or Unauthenticated."""
    if not authorization:
        raise Unauthenticated(ErrorCode.UNAUTHENTICATED, "missing bearer token", "Authorization")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated(
            ErrorCode.UNAUTHENTICATED, "Authorization must be 'Bearer <token>'", "Authorization"
        )
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(token.strip())))
    if row is None or row.revoked_at is not None:
        raise Unauthenticated(
            ErrorCode.UNAUTHENTICATED, "unknown or revoked token", "Authorization"
        )
    return Principal(token_id=row.id, name=row.name, role=Role(row.role))


def require(principal: Principal, roles: frozenset[Role]) -> None:
    """Forbidden unless the principal's role is one of `roles`."""
    if principal.role not in roles:
        allowed = ", ".join(sorted(r.value for r in roles))
        raise Forbidden(
            ErrorCode.FORBIDDEN, f"role {principal.role.value} may not do this (needs: {allowed})"
        )
