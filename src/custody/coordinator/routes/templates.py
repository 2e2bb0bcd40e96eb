"""Template routes: the watcher posts and reports, the signer signs or refuses."""

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel
from sqlalchemy.orm import Session

from custody.contract.templates import (
    BroadcastReport,
    ConfirmationReport,
    FailureReport,
    Rejection,
    SignedTransaction,
    Template,
    TemplateCreate,
    TemplateStatus,
)
from custody.coordinator.auth import Principal, Role
from custody.coordinator.routes.respond import ERRORS, read, write
from custody.coordinator.runtime import IdemHeader, Runtime, RuntimeDep, caller
from custody.coordinator.services import templates

router = APIRouter(tags=["templates"], responses=ERRORS)
Limit = Annotated[int, Query(ge=1, le=500)]
WATCHER = caller(Role.WATCHER)
SIGNER = caller(Role.SIGNER)


@router.post("/templates", response_model=Template)
def post_template(
    body: TemplateCreate, runtime: RuntimeDep, idem: IdemHeader = None, who: Principal = WATCHER
) -> Response:
    """An unsigned template; its payload is its natural key."""
    return write(
        runtime,
        who,
        lambda s: templates.create(s, runtime.config, who, body),
        idem,
        "POST /v1/templates",
        body,
    )


@router.get(
    "/templates",
    response_model=list[Template],
    dependencies=[caller(Role.WATCHER, Role.SIGNER, Role.OPERATOR)],
)
def get_templates(
    runtime: RuntimeDep,
    status: TemplateStatus | None = None,
    currency: str | None = None,
    limit: Limit = 50,
    after: str | None = None,
) -> list[Template]:
    """Templates by status and currency, oldest first; `after=<template id>` pages on."""
    return read(runtime, lambda s: templates.listing(s, status, currency, limit, after))


@router.get(
    "/templates/{template_id}",
    response_model=Template,
    dependencies=[caller(Role.WATCHER, Role.SIGNER, Role.OPERATOR)],
)
def get_template(template_id: str, runtime: RuntimeDep) -> Template:
    """One template."""
    return read(
        runtime, lambda s: templates.to_model(s, templates.get_row(s, template_id, lock=False))
    )


def _step(
    runtime: Runtime,
    who: Principal,
    template_id: str,
    step: str,
    body: BaseModel,
    idem: str | None,
    action: Callable[[Session, Principal, str, BaseModel], Template],
) -> Response:
    return write(
        runtime,
        who,
        lambda s: action(s, who, template_id, body),
        idem,
        f"POST /v1/templates/{template_id}/{step}",
        body,
    )


@router.post("/templates/{template_id}/signature", response_model=Template)
def post_signature(
    template_id: str,
    body: SignedTransaction,
    runtime: RuntimeDep,
    idem: IdemHeader = None,
    who: Principal = SIGNER,
) -> Response:
    """The signer's signed bytes and txid."""
    return _step(runtime, who, template_id, "signature", body, idem, templates.sign)  # type: ignore[arg-type]


@router.post("/templates/{template_id}/rejection", response_model=Template)
def post_rejection(
    template_id: str,
    body: Rejection,
    runtime: RuntimeDep,
    idem: IdemHeader = None,
    who: Principal = SIGNER,
) -> Response:
    """The signer refused; the code names the check that failed."""
    return _step(runtime, who, template_id, "rejection", body, idem, templates.reject)  # type: ignore[arg-type]


@router.post("/templates/{template_id}/broadcast", response_model=Template)
def post_broadcast(
    template_id: str,
    body: BroadcastReport,
    runtime: RuntimeDep,
    idem: IdemHeader = None,
    who: Principal = WATCHER,
) -> Response:
    """The node has the transaction."""
    return _step(runtime, who, template_id, "broadcast", body, idem, templates.broadcast)  # type: ignore[arg-type]


@router.post("/templates/{template_id}/confirmation", response_model=Template)
def post_confirmation(
    template_id: str,
    body: ConfirmationReport,
    runtime: RuntimeDep,
    idem: IdemHeader = None,
    who: Principal = WATCHER,
) -> Response:
    """The transaction is confirmed deep enough; its withdrawals settle."""
    return _step(runtime, who, template_id, "confirmation", body, idem, templates.confirm)  # type: ignore[arg-type]


@router.post("/templates/{template_id}/failure", response_model=Template)
def post_failure(
    template_id: str,
    body: FailureReport,
    runtime: RuntimeDep,
    idem: IdemHeader = None,
    who: Principal = WATCHER,
) -> Response:
    """The transaction can never confirm; its withdrawals are retried or failed."""
    return _step(runtime, who, template_id, "failure", body, idem, templates.fail)  # type: ignore[arg-type]
