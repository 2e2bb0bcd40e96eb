"""What a running coordinator holds: settings, config and the database; handed to every route."""

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Header, Request
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from custody.coordinator.auth import Principal, Role, authenticate, require
from custody.coordinator.config import CoordinatorConfig
from custody.coordinator.settings import CoordinatorSettings


@dataclass(frozen=True)
class Runtime:
    """The coordinator's state for one process."""

    settings: CoordinatorSettings
    config: CoordinatorConfig
    engine: Engine
    sessions: sessionmaker[Session]


def get_runtime(request: Request) -> Runtime:
    """The runtime the app was created with."""
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


def caller(*roles: Role) -> Any:
    """A dependency that authenticates the caller and checks its role."""
    allowed = frozenset(roles)

    def dependency(
        runtime: RuntimeDep,
        authorization: Annotated[str | None, Header()] = None,
    ) -> Principal:
        with runtime.sessions() as session:
            principal = authenticate(session, authorization)
        require(principal, allowed)
        return principal

    return Depends(dependency)


IdemHeader = Annotated[str | None, Header(alias="Idempotency-Key")]
