"""A deposit is credited exactly once, however often the node lists it.

Two users get deposit accounts and the peer's genesis pays each of them. The signer is kept
away, so the sends stay receivable (nothing pockets them) and every watcher round lists them
again: the first report credits each deposit, keyed by its send hash, and the next polls change
nothing. A brand-new watcher, which remembers nothing, reports them again: still one credit.
One amount is far past 64 bits, and arrives in the ledger to the raw.
"""

from tests.integration.nano.stack import Stack
from tests.unit.nano.nano_templates import XNO


def test_deposit_credited_exactly_once(stack: Stack) -> None:
    alice, bob = stack.address("alice"), stack.address("bob")
    send_a = stack.fund(alice, 3 * XNO)
    send_b = stack.fund(bob, 2**70 + 5)
    for _ in range(4):
        report = stack.round()
        assert report.ok, report
    deposits = {d["txid"]: d for d in stack.deposits()}
    assert set(deposits) == {send_a, send_b}
    assert all(d["state"] == "credited" and d["credit_count"] == 1 for d in deposits.values())
    assert deposits[send_b]["amount"] == str(2**70 + 5)
    assert (deposits[send_a]["address"], deposits[send_a]["output_index"]) == (alice, 0)
    assert stack.balance("alice") == (3 * XNO, 0)
    assert stack.balance("bob") == (2**70 + 5, 0)

    stack.restart_watcher()
    for _ in range(2):
        stack.round()
    assert stack.balance("alice") == (3 * XNO, 0)
    assert stack.balance("bob") == (2**70 + 5, 0)
    assert [d["credit_count"] for d in stack.deposits()] == [1, 1]
    # Still receivable: the one open template waits for the signer, and nothing was doubled.
    assert len(stack.templates("unsigned")) == 2
