"""Withdrawal routes: the exchange requests and cancels, operators approve, the watcher lists."""

from typing import Annotated

from fastapi import APIRouter, Query, Response

from custody.contract.withdrawals import (
    Approval,
    CancelRequest,
    Reissue,
    Withdrawal,
    WithdrawalRequest,
    WithdrawalState,
)
from custody.coordinator.auth import Principal, Role
from custody.coordinator.routes.respond import ERRORS, read, write
from custody.coordinator.runtime import IdemHeader, RuntimeDep, caller
from custody.coordinator.services import withdrawals

router = APIRouter(tags=["withdrawals"], responses=ERRORS)
Limit = Annotated[int, Query(ge=1, le=1000)]


@router.post("/withdrawals", response_model=Withdrawal)
def post_withdrawal(
    body: WithdrawalRequest,
    runtime: RuntimeDep,
    idem: IdemHeader = None,
    who: Principal = caller(Role.EXCHANGE),
) -> Response:
    """A signed intent, once per request_id; holds amount + fee on the user's balance."""
    return write(
        runtime,
        who,
        lambda s: withdrawals.request(s, runtime.config, who, body),
        idem,
        "POST /v1/withdrawals",
        body,
    )


@router.post("/withdrawals/{withdrawal_id}/approvals", response_model=Withdrawal)
def post_approval(
    withdrawal_id: str,
    body: Approval,
    runtime: RuntimeDep,
    idem: IdemHeader = None,
    who: Principal = caller(Role.OPERATOR),
) -> Response:
    """An operator's signed approval; once per operator key."""
    return write(
        runtime,
        who,
        lambda s: withdrawals.approve(s, runtime.config, who, withdrawal_id, body),
        idem,
        f"POST /v1/withdrawals/{withdrawal_id}/approvals",
        body,
    )


@router.post("/withdrawals/{withdrawal_id}/reissues", response_model=Withdrawal)
def post_reissue(
    withdrawal_id: str,
    body: Reissue,
    runtime: RuntimeDep,
    idem: IdemHeader = None,
    who: Principal = caller(Role.OPERATOR),
) -> Response:
    """An operator's signed word that a failed transaction of this withdrawal is dead."""
    return write(
        runtime,
        who,
        lambda s: withdrawals.reissue(s, runtime.config, who, withdrawal_id, body),
        idem,
        f"POST /v1/withdrawals/{withdrawal_id}/reissues",
        body,
    )


@router.post("/withdrawals/{withdrawal_id}/cancel", response_model=Withdrawal)
def post_cancel(
    withdrawal_id: str,
    body: CancelRequest,
    runtime: RuntimeDep,
    idem: IdemHeader = None,
    who: Principal = caller(Role.EXCHANGE, Role.OPERATOR),
) -> Response:
    """Cancel before signing; cancelling twice answers the same."""
    return write(
        runtime,
        who,
        lambda s: withdrawals.cancel(s, who, withdrawal_id, body.reason),
        idem,
        f"POST /v1/withdrawals/{withdrawal_id}/cancel",
        body,
    )


@router.get(
    "/withdrawals/{withdrawal_id}",
    response_model=Withdrawal,
    dependencies=[caller(Role.EXCHANGE, Role.WATCHER, Role.OPERATOR)],
)
def get_withdrawal(withdrawal_id: str, runtime: RuntimeDep) -> Withdrawal:
    """One withdrawal."""
    return read(runtime, lambda s: withdrawals.to_model(s, withdrawals.get_row(s, withdrawal_id)))


@router.get(
    "/withdrawals",
    response_model=list[Withdrawal],
    dependencies=[caller(Role.EXCHANGE, Role.WATCHER, Role.OPERATOR)],
)
def get_withdrawals(
    runtime: RuntimeDep,
    currency: str | None = None,
    state: WithdrawalState | None = None,
    user_id: str | None = None,
    limit: Limit = 100,
) -> list[Withdrawal]:
    """Withdrawals by currency, state and user, oldest first."""
    return read(runtime, lambda s: withdrawals.listing(s, currency, state, user_id, limit))
