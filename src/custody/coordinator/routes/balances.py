"""Balance routes: a user's available and held funds per currency."""

from fastapi import APIRouter

from custody.contract.balances import Balance
from custody.coordinator.auth import Role
from custody.coordinator.routes.respond import ERRORS, read
from custody.coordinator.runtime import RuntimeDep, caller
from custody.coordinator.services import balances

router = APIRouter(tags=["balances"], responses=ERRORS)


@router.get(
    "/balances/{user_id}",
    response_model=list[Balance],
    dependencies=[caller(Role.EXCHANGE, Role.OPERATOR)],
)
def get_balances(user_id: str, runtime: RuntimeDep) -> list[Balance]:
    """Available and held per currency."""
    return read(runtime, lambda s: balances.of_user(s, runtime.config, user_id))
