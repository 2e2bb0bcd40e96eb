"""What each console page shows, read through the coordinator's services."""

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from custody.contract.amounts import to_decimal_string
from custody.contract.withdrawals import Withdrawal, WithdrawalState
from custody.coordinator.config import CoordinatorConfig
from custody.coordinator.services import addresses, deposits, overview, templates, withdrawals

LIMIT = 100
WAITING = (WithdrawalState.REQUESTED, WithdrawalState.AWAITING_REISSUE)
Context = dict[str, Any]


@dataclass(frozen=True)
class Waiting:
    """A withdrawal that waits for operators: how far it got and the commands that move it."""

    withdrawal: Withdrawal
    have: int
    need: int
    progress: str
    commands: list[str]


def human_amount(config: CoordinatorConfig, code: str, amount: int) -> str:
    """Base units in the currency's own unit ('5 LTC'); base units if it is not configured."""
    currency = config.currency(code)
    if currency is None:
        return f"{amount} base units of {code}"
    return f"{to_decimal_string(amount, currency.decimals)} {code}"


def overview_page(session: Session) -> Context:
    """Pool levels, withdrawals counted by state, and the newest alerts."""
    return {
        "pools": addresses.pool_levels(session),
        "counts": overview.withdrawal_counts(session),
        "alerts": overview.alerts(session, LIMIT),
    }


def withdrawals_page(session: Session) -> Context:
    """Withdrawals that wait for an approval or a reissue, oldest first."""
    rows = [w for s in WAITING for w in withdrawals.listing(session, None, s, None, LIMIT)]
    return {"waiting": [_waiting(session, w) for w in rows], "limit": LIMIT}


def _waiting(session: Session, w: Withdrawal) -> Waiting:
    if w.state is WithdrawalState.REQUESTED:
        have, need = len(w.approvals), w.approvals_required
        progress = f"{have} of {need} approvals"
        return Waiting(w, have, need, progress, [f"custody operator approve {w.id}"])
    # Every dead transaction needs its own reissues (at least one) before a new one may pay.
    need = max(1, w.approvals_required)
    dead = sorted(withdrawals.dead_txids(session, w.id))
    signed = {t: {r.operator_key for r in w.reissues if r.txid.lower() == t} for t in dead}
    open_ = [t for t in dead if len(signed[t]) < need]
    have = min((len(signed[t]) for t in dead), default=0)
    progress = "; ".join(f"{len(signed[t])} of {need} reissues for {t}" for t in dead)
    commands = [f"custody operator reissue {w.id} {t}" for t in open_]
    return Waiting(w, have, need, progress, commands)


def templates_page(session: Session) -> Context:
    """The newest transaction templates with their status and what went wrong, if anything."""
    return {"templates": templates.listing(session, None, None, LIMIT, newest_first=True)}


def deposits_page(session: Session) -> Context:
    """The newest deposits with their state."""
    return {"deposits": deposits.listing(session, None, None, LIMIT)}
