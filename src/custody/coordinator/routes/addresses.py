"""Address pool routes: the signer fills it, the exchange draws from it, the watcher imports it."""

from typing import Annotated

from fastapi import APIRouter, Query, Response

from custody.contract.addresses import (
    AddressBatch,
    AddressBatchResult,
    ChangeReservation,
    DepositAddress,
    DepositAddressRequest,
    ImportedMark,
    ImportedResult,
    PoolLevel,
    WatchAddress,
)
from custody.coordinator.auth import Principal, Role
from custody.coordinator.routes.respond import ERRORS, read, require_key, write
from custody.coordinator.runtime import IdemHeader, RuntimeDep, caller
from custody.coordinator.services import addresses

router = APIRouter(tags=["addresses"], responses=ERRORS)
Limit = Annotated[int, Query(ge=1, le=10_000)]


@router.post("/addresses", response_model=AddressBatchResult)
def post_addresses(
    body: AddressBatch,
    runtime: RuntimeDep,
    idem: IdemHeader = None,
    who: Principal = caller(Role.SIGNER),
) -> Response:
    """The signer adds derived addresses; a re-posted address changes nothing."""
    return write(
        runtime,
        who,
        lambda s: addresses.add_batch(s, runtime.config, body),
        idem,
        "POST /v1/addresses",
        body,
    )


@router.get(
    "/addresses/pool",
    response_model=list[PoolLevel],
    dependencies=[caller(Role.SIGNER, Role.OPERATOR)],
)
def get_pool(runtime: RuntimeDep) -> list[PoolLevel]:
    """Unused and total addresses per currency and branch."""
    return read(runtime, addresses.pool_levels)


@router.get(
    "/addresses",
    response_model=list[WatchAddress],
    dependencies=[caller(Role.WATCHER, Role.OPERATOR)],
)
def get_addresses(
    runtime: RuntimeDep,
    currency: str,
    imported: bool | None = None,
    address: Annotated[list[str] | None, Query(max_length=1000)] = None,
    limit: Limit = 1000,
    after: str | None = None,
) -> list[WatchAddress]:
    """Pool addresses of a currency; `imported=false` lists what the watcher must still import,
    `address=…` (repeatable) looks up paths and keys of the named addresses; `after=ADDRESS`
    continues from the page that ended with it."""
    return read(
        runtime,
        lambda s: addresses.list_for_watcher(
            s, runtime.config, currency, imported, address, limit, after
        ),
    )


@router.post("/addresses/imported", response_model=ImportedResult)
def post_imported(
    body: ImportedMark,
    runtime: RuntimeDep,
    idem: IdemHeader = None,
    who: Principal = caller(Role.WATCHER),
) -> Response:
    """The watcher has imported these addresses into its node."""
    return write(
        runtime,
        who,
        lambda s: ImportedResult(marked=addresses.mark_imported(s, runtime.config, body)),
        idem,
        "POST /v1/addresses/imported",
        body,
    )


@router.post("/addresses/change", response_model=WatchAddress)
def post_change(
    body: ChangeReservation,
    runtime: RuntimeDep,
    idem: IdemHeader = None,
    who: Principal = caller(Role.WATCHER),
) -> Response:
    """Reserve a change address. An Idempotency-Key is required: a retry must not take two."""
    require_key(idem)
    return write(
        runtime,
        who,
        lambda s: addresses.reserve_change(s, runtime.config, body.currency),
        idem,
        "POST /v1/addresses/change",
        body,
    )


@router.post("/deposit-addresses", response_model=DepositAddress)
def post_deposit_address(
    body: DepositAddressRequest,
    runtime: RuntimeDep,
    idem: IdemHeader = None,
    who: Principal = caller(Role.EXCHANGE),
) -> Response:
    """The user's deposit address; `fresh: true` (with an Idempotency-Key) hands out a new one."""
    if body.fresh:
        require_key(idem)
    return write(
        runtime,
        who,
        lambda s: addresses.deposit_address(s, runtime.config, body),
        idem,
        "POST /v1/deposit-addresses",
        body,
    )
