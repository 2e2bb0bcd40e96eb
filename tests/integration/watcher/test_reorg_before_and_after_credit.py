"""Reorgs: a deposit that leaves the chain is orphaned (before credit) or reversed (after), and
is credited exactly once more when it comes back.

Bob's deposit is two blocks deep (pending, the currency needs three) when those two blocks are
invalidated and a competing block without his transaction is mined: the watcher reports it
orphaned. The old branch is reconsidered, wins again, and the deposit is pending once more,
then credited once with the next block.

Carol's deposit is credited at three confirmations; then its blocks are invalidated and a
competing block is mined: the watcher reports the deposit gone, the coordinator reverses the
credit (her balance drops back, an alert is written to the audit log). The old branch comes
back: the deposit is credited again, a second and last time; a replayed round changes nothing.
"""

import pytest
from sqlalchemy import select

from custody.coordinator.db.tables import AuditRow
from tests.integration.watcher.stack import LTC, Stack

pytestmark = pytest.mark.litecoind


def _competing_block(stack: Stack) -> str:
    """A block on the current tip that carries none of the mempool's transactions."""
    return str(stack.node.rpc("generateblock", stack.outside_address(), [])["hash"])


def _alerts(stack: Stack) -> list[str]:
    with stack.api.runtime.sessions() as session:
        rows = session.scalars(select(AuditRow).where(AuditRow.action == "alert_deposit_reversed"))
        return [r.object_id for r in rows]


def test_orphaned_before_credit_and_reversed_after(stack: Stack) -> None:
    node = stack.node
    assert stack.round().ok

    # Before crediting: two confirmations, then the two blocks are replaced.
    bob_tx = stack.pay(stack.address("bob"), LTC)
    first, _ = stack.mine(2)
    stack.round()
    assert stack.deposit(bob_tx)["state"] == "pending"  # type: ignore[index]
    node.rpc("invalidateblock", first)
    _competing_block(stack)
    assert stack.round().ok
    assert stack.deposit(bob_tx)["state"] == "orphaned"  # type: ignore[index]
    assert stack.balance("bob") == (0, 0)

    # The old branch is longer: it comes back, and the deposit with it.
    node.rpc("reconsiderblock", first)
    stack.round()
    bob = stack.deposit(bob_tx)
    assert bob is not None and (bob["state"], bob["confirmations"]) == ("pending", 2)
    stack.mine(1)
    stack.round()
    bob = stack.deposit(bob_tx)
    assert bob is not None and (bob["state"], bob["credit_count"]) == ("credited", 1)
    assert stack.balance("bob") == (LTC, 0)

    # After crediting: three confirmations, credited; then its three blocks are replaced.
    carol_tx = stack.pay(stack.address("carol"), 2 * LTC)
    credit_block, _, _ = stack.mine(3)
    stack.round()
    assert stack.balance("carol") == (2 * LTC, 0)
    node.rpc("invalidateblock", credit_block)
    _competing_block(stack)
    assert stack.round().ok
    carol = stack.deposit(carol_tx)
    assert carol is not None and carol["state"] == "reversed"
    assert stack.balance("carol") == (0, 0)
    assert _alerts(stack) == [carol["id"]]

    # Back again: credited a second time, and only a second time.
    node.rpc("reconsiderblock", credit_block)
    stack.round()
    stack.restart_watcher()
    stack.round()
    carol = stack.deposit(carol_tx)
    assert carol is not None and (carol["state"], carol["credit_count"]) == ("credited", 2)
    assert stack.balance("carol") == (2 * LTC, 0)
    assert stack.balance("bob") == (LTC, 0)
    assert _alerts(stack) == [carol["id"]]
