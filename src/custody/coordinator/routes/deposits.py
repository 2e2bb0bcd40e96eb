"""Deposit routes: the watcher reports, the exchange follows the feed."""

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response

from custody.contract.deposits import Deposit, DepositFeed, DepositReportBatch, DepositState
from custody.coordinator.auth import Principal, Role
from custody.coordinator.routes.respond import ERRORS, read, write
from custody.coordinator.runtime import IdemHeader, RuntimeDep, caller
from custody.coordinator.services import deposits

router = APIRouter(tags=["deposits"], responses=ERRORS)
Limit = Annotated[int, Query(ge=1, le=1000)]


@router.post("/deposits", response_model=list[Deposit])
def post_deposits(
    body: DepositReportBatch,
    runtime: RuntimeDep,
    idem: IdemHeader = None,
    who: Principal = caller(Role.WATCHER),
) -> Response:
    """Upsert what the watcher sees, keyed by (currency, txid, output_index)."""
    return write(
        runtime,
        who,
        lambda s: list(deposits.report(s, runtime.config, who, body)),
        idem,
        "POST /v1/deposits",
        body,
    )


@router.get(
    "/deposits/feed",
    response_model=DepositFeed,
    dependencies=[caller(Role.EXCHANGE, Role.OPERATOR)],
)
def get_feed(
    runtime: RuntimeDep,
    since: Annotated[int, Query(ge=0)] = 0,
    limit: Limit = 100,
    currency: str | None = None,
) -> DepositFeed:
    """Deposit state changes after the cursor `since`, oldest first."""
    return read(runtime, lambda s: deposits.feed(s, since, limit, currency))


@router.get(
    "/deposits",
    response_model=list[Deposit],
    dependencies=[caller(Role.WATCHER, Role.EXCHANGE, Role.OPERATOR)],
)
def get_deposits(
    runtime: RuntimeDep,
    currency: str | None = None,
    state: DepositState | None = None,
    limit: Limit = 100,
    order: Literal["newest", "oldest"] = "newest",
    after: str | None = None,
) -> list[Deposit]:
    """Deposits by currency and state, newest first (or oldest); `after=<deposit id>` pages on."""
    return read(
        runtime,
        lambda s: deposits.listing(s, currency, state, limit, order == "oldest", after),
    )
