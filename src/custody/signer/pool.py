"""Address pool upkeep: keep enough unused receive and change addresses in the coordinator."""

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from custody.contract.addresses import AddressBatch, PoolAddress, PoolLevel
from custody.contract.currencies import ChainFamily
from custody.signer.chains.registry import POOL_BRANCHES
from custody.signer.derivation import MAX_INDEX, Branch
from custody.signer.errors import SignerError
from custody.signer.policy import CurrencyPolicy
from custody.signer.signing import TemplateSigner

if TYPE_CHECKING:  # file mode imports this module and must not load the HTTP client
    from custody.signer.client import CoordinatorClient

log = logging.getLogger(__name__)

MAX_BATCH = 1000  # AddressBatch's limit
MAX_ROUNDS = 10


@dataclass(frozen=True)
class Shortfall:
    """`count` addresses missing on one branch of one currency, to derive from index `start`."""

    currency: str
    branch: Branch
    start: int
    count: int


def shortfalls(
    levels: Iterable[PoolLevel], currencies: Iterable[str], targets: dict[Branch, int]
) -> list[Shortfall]:
    """What to derive so every branch of every currency has its target of unused addresses."""
    by_key = {(level.currency, level.branch): level for level in levels}
    missing = []
    for code in currencies:
        for branch, target in targets.items():
            level = by_key.get((code, branch.pool_branch))
            unused, total = (level.unused, level.total) if level else (0, 0)
            if unused < target:
                # The signer is the pool's only source, so the next index is the branch's total;
                # if the coordinator lost some, posting them again changes nothing.
                missing.append(Shortfall(code, branch, total, target - unused))
    return missing


def derive(
    signer: TemplateSigner, currency: CurrencyPolicy, branch: Branch, start: int, count: int
) -> list[PoolAddress]:
    """Pool entries for indexes start .. start+count-1 of one branch."""
    if start < 0 or count < 0 or start + count - 1 > MAX_INDEX:
        raise SignerError(f"address indexes {start}..{start + count - 1} are out of range")
    chain = signer.chain_for(currency)
    return [chain.address(currency, branch, index) for index in range(start, start + count)]


def post(client: "CoordinatorClient", addresses: Sequence[PoolAddress]) -> int:
    """Post addresses in batches; returns how many were new to the pool."""
    added = 0
    for at in range(0, len(addresses), MAX_BATCH):
        result = client.post_addresses(AddressBatch(addresses=list(addresses[at : at + MAX_BATCH])))
        added += result.added
    return added


def top_up(
    client: "CoordinatorClient",
    signer: TemplateSigner,
    currencies: Sequence[CurrencyPolicy],
    targets: dict[Branch, int],
) -> int:
    """Bring every branch up to its target; returns how many addresses the pool gained."""
    by_code = {c.code: c for c in currencies}
    levels = client.pool_levels()
    gaps = [
        gap
        for c in currencies
        for gap in shortfalls(levels, [c.code], family_targets(c.family, targets))
    ]
    return sum(_fill(client, signer, by_code[gap.currency], gap) for gap in gaps)


def family_targets(family: ChainFamily, targets: dict[Branch, int]) -> dict[Branch, int]:
    """The branches `family` keeps in the pool and their targets (see POOL_BRANCHES)."""
    special = POOL_BRANCHES.get(family)
    if special is None:
        return targets
    return {b: targets.get(b, 0) if t is None else t for b, t in special.items()}


def _fill(
    client: "CoordinatorClient", signer: TemplateSigner, currency: CurrencyPolicy, gap: Shortfall
) -> int:
    start, missing = gap.start, gap.count
    # If the pool lost addresses below its total, some of ours are known already (added 0):
    # keep deriving past them, a bounded number of rounds.
    for _ in range(MAX_ROUNDS):
        addresses = derive(signer, currency, gap.branch, start, missing)
        added = post(client, addresses)
        log.info(
            "pool %s/%s: posted indexes %d..%d, %d new",
            gap.currency,
            gap.branch.pool_branch,
            start,
            start + missing - 1,
            added,
        )
        start, missing = start + missing, missing - added
        if missing <= 0:
            break
    return gap.count - max(missing, 0)
