"""GET /v1/currencies: what the stack is configured for."""

from fastapi import APIRouter

from custody.contract.currencies import Currency
from custody.coordinator.auth import Role
from custody.coordinator.routes.respond import ERRORS
from custody.coordinator.runtime import RuntimeDep, caller

router = APIRouter(tags=["currencies"], responses=ERRORS)
ANYONE = caller(Role.EXCHANGE, Role.WATCHER, Role.SIGNER, Role.OPERATOR)


@router.get("/currencies", response_model=list[Currency], dependencies=[ANYONE])
def list_currencies(runtime: RuntimeDep) -> list[Currency]:
    """Every configured currency."""
    return [c.public() for c in runtime.config.currencies.values()]
