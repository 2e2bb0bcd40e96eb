"""The watcher is killed at each crash point and started again: nothing is lost or done twice.

One story per crash point the Bitcoin watcher declares (BitcoinWatcher.crash_points): Alice
and Bob deposit 1 LTC each and are credited; they withdraw 0.3 and 0.2 LTC, which the watcher batches into one
template, the signer signs and the watcher broadcasts; the node is then restarted without its
mempool, so the watcher has to send the transaction again; three blocks confirm it.

At the chosen point the watcher dies between two of its writes (the probe raises past every
`except`, as a kill would), and a brand-new watcher takes over: it has only what the node and
the coordinator hold. Whatever the point, at the end each deposit was credited exactly once,
one transaction paid each withdrawal exactly once, one change address was reserved, and no
coin is left locked.
"""

from dataclasses import dataclass, field

import pytest

from custody.watcher.chains.base import CrashPoint
from custody.watcher.chains.bitcoin import BitcoinWatcher
from tests.integration.watcher.stack import LTC, Stack

pytestmark = pytest.mark.litecoind


class SimulatedCrash(BaseException):
    """Not an Exception: the loop's step isolation must not catch it, as it cannot catch a kill."""


@dataclass
class CrashOnce:
    """A probe that kills the watcher the first time it reaches `point`."""

    point: CrashPoint
    fired: list[CrashPoint] = field(default_factory=list)

    def __call__(self, point: CrashPoint) -> None:
        if point == self.point and not self.fired:
            self.fired.append(point)
            raise SimulatedCrash(point.value)


def _round(stack: Stack, probe: CrashOnce) -> None:
    """One round; if the watcher dies in it, start a new one (which carries on next round)."""
    try:
        stack.round()
    except SimulatedCrash:
        stack.restart_watcher(probe)


def _reserved_change(stack: Stack) -> int:
    levels = stack.api.operator.get("/v1/addresses/pool").json()
    [change] = [lvl for lvl in levels if lvl["currency"] == "LTC" and lvl["branch"] == "change"]
    return int(change["total"]) - int(change["unused"])


@pytest.mark.parametrize(
    "point", BitcoinWatcher.crash_points, ids=[p.name for p in BitcoinWatcher.crash_points]
)
def test_killed_and_restarted(stack: Stack, point: CrashPoint) -> None:
    probe = CrashOnce(point)
    stack.restart_watcher(probe)
    node = stack.node

    # Deposits.
    _round(stack, probe)
    alice_tx = stack.pay(stack.address("alice"), LTC)
    bob_tx = stack.pay(stack.address("bob"), LTC)
    _round(stack, probe)
    stack.mine(3)
    for _ in range(2):
        _round(stack, probe)
    assert stack.balance("alice") == (LTC, 0) and stack.balance("bob") == (LTC, 0)

    # Withdrawals: build, sign, broadcast.
    to_alice, to_bob = stack.outside_address(), stack.outside_address()
    w1 = stack.withdraw("alice", 3 * LTC // 10, to_alice, "alice-out")
    w2 = stack.withdraw("bob", 2 * LTC // 10, to_bob, "bob-out")
    for _ in range(2):
        _round(stack, probe)
        stack.sign()
    _round(stack, probe)
    [template] = stack.templates()
    assert template["status"] == "broadcast", template["status"]

    # The node forgets the transaction; the watcher sends it again.
    node.restart("-walletbroadcast=0", drop_mempool=True)
    for _ in range(2):
        _round(stack, probe)
    assert template["txid"] in node.rpc("getrawmempool")
    node.restart(drop_mempool=False)
    stack.mine(3)
    for _ in range(2):
        _round(stack, probe)

    assert probe.fired == [point], "the story never reached the crash point"
    deposits = {d["txid"]: d for d in stack.deposits()}
    assert {deposits[t]["credit_count"] for t in (alice_tx, bob_tx)} == {1}
    assert [t["status"] for t in stack.templates()] == ["confirmed"]
    assert {stack.withdrawal(w)["state"] for w in (w1, w2)} == {"confirmed"}
    assert stack.received_by(to_alice) == 3 * LTC // 10
    assert stack.received_by(to_bob) == 2 * LTC // 10
    assert stack.balance("alice") == (LTC - 3 * LTC // 10 - 1000, 0)
    assert stack.balance("bob") == (LTC - 2 * LTC // 10 - 1000, 0)
    assert _reserved_change(stack) == 1
    assert node.rpc("listlockunspent", wallet=stack.watched.node.wallet) == []
