"""A send that is not confirmed is not a deposit yet.

The peer holds every confirmation. Alice's deposit send is in the ledger, but the watcher
polls `accounts_receivable`, which lists confirmed sends only: no report, no credit, no open
block. When the send confirms, the next round credits it, and only then is it pocketed.
"""

from tests.integration.nano.stack import Stack
from tests.unit.nano.nano_templates import XNO


def test_unconfirmed_send_is_not_credited(stack: Stack) -> None:
    alice = stack.address("alice")
    stack.hold()
    send = stack.fund(alice, XNO)
    for _ in range(3):
        stack.cycle()
    assert stack.deposits() == []
    assert stack.balance("alice") == (0, 0)
    assert stack.templates() == []
    assert stack.account(alice).get("error") == "Account not found"

    stack.hold(hold=False)
    stack.run_until(lambda: stack.account(alice).get("confirmed_height") == "2")
    [deposit] = stack.deposits()
    assert (deposit["txid"], deposit["state"], deposit["credit_count"]) == (send, "credited", 1)
    assert stack.balance("alice") == (XNO, 0)
