"""The ETH watcher killed at each crash point, then started again, ends where it would have.

One story runs with the watcher killed (the object dropped mid-step) the first time it reaches
the crash point under test, and a new watcher started in its place:
Alice's 5 ETH deposit is found and credited (deposits reported, cursor not yet saved); Bob's
1 ETH is mined and then reorged away (removals reported, cursor not yet rolled back); Alice
withdraws 1 ETH (template posted, answer lost), the signed transaction is sent (node has it,
coordinator not told), the node drops it from its mempool and the watcher sends it again
(re-sent, nothing reported). Whatever the point, the end is the same: Alice credited once,
Bob's deposit orphaned, one withdrawal template, one transaction, the payee paid once.
"""

from collections.abc import Callable
from pathlib import Path

import pytest

from custody.watcher.chains.base import CrashPoint
from custody.watcher.loop import RoundReport
from tests.integration.ethereum.stack import EthStack, build_stack
from tests.support.anvil import ETHER

PAYEE = "0x000000000000000000000000000000000000bEEF"
POINTS = [
    CrashPoint.DEPOSITS_REPORTED,
    CrashPoint.REMOVALS_REPORTED,
    CrashPoint.TEMPLATE_POSTED,
    CrashPoint.TX_SENT,
    CrashPoint.TX_RESENT,
]


class Killed(BaseException):
    """The watcher process dies here (not an Exception: no step may catch it)."""


def killer(point: CrashPoint, fired: list[CrashPoint]) -> Callable[[CrashPoint], None]:
    """A probe that kills the watcher the first time it reaches `point`."""

    def probe(reached: CrashPoint) -> None:
        if reached == point and not fired:
            fired.append(reached)
            raise Killed(reached)

    return probe


def round_or_die(stack: EthStack) -> RoundReport | None:
    """One round; if the watcher dies, a new one (without the probe) takes its place."""
    try:
        return stack.loops["ETH"].run_once()
    except Killed:
        stack.restart_watcher("ETH")
        return None


@pytest.mark.parametrize("point", POINTS, ids=[p.name for p in POINTS])
def test_watcher_killed_at_crash_point(
    tmp_path: Path, sqlite_template: Path, point: CrashPoint
) -> None:
    with build_stack(tmp_path, sqlite_template, sweep_min=10**30) as stack:
        fired: list[CrashPoint] = []
        stack.restart_watcher("ETH", probe=killer(point, fired))
        anvil = stack.anvil
        anvil.automine(False)
        alice, bob = stack.address("alice"), stack.address("bob")
        anvil.send(alice, 5 * ETHER, sender=1)
        anvil.mine(2)
        round_or_die(stack)
        round_or_die(stack)

        anvil.send(bob, ETHER, sender=2)
        anvil.mine(1)
        round_or_die(stack)
        anvil.reorg(1)
        anvil.mine(1)
        round_or_die(stack)
        round_or_die(stack)

        anvil.set_balance(stack.hot(), 10 * ETHER)
        wid = stack.withdraw("alice", ETHER, PAYEE, "crash-1")
        round_or_die(stack)
        round_or_die(stack)
        stack.sign()
        round_or_die(stack)
        round_or_die(stack)
        [template] = stack.templates()
        anvil.rpc("anvil_dropTransaction", template["txid"])
        round_or_die(stack)
        round_or_die(stack)
        anvil.mine(2)
        round_or_die(stack)
        round_or_die(stack)

        assert fired == [point]
        states = {d["address"]: (d["state"], d["credit_count"]) for d in stack.deposits()}
        assert states == {alice: ("credited", 1), bob: ("orphaned", 0)}
        assert stack.balance("alice") == (4 * ETHER - 1000, 0)
        assert len(stack.templates()) == 1
        assert stack.withdrawal(wid)["state"] == "confirmed"
        assert anvil.balance(PAYEE) == ETHER
        assert anvil.nonce(stack.hot()) == 1
