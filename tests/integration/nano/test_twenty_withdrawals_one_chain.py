"""Twenty withdrawals in a row from one hot account: one chain, no fork, every block confirmed.

Confirmations are slow here (held while the run is built), so each send is built on the
previous one before it confirms: a run of sends signed ahead of confirmation and published
strictly in order. At the end the hot account's chain holds every send exactly once, each on
the one before it, all confirmed, and each destination got its amount once.
"""

from itertools import pairwise

from tests.integration.nano.stack import FEE, Stack
from tests.unit.nano.nano_templates import XNO, foreign_account


def test_twenty_withdrawals_make_one_chain(stack: Stack) -> None:
    stack.fund_user("alice", 10 * XNO)
    hot = stack.hot()
    start = int(stack.account(hot)["block_count"])
    payees = [foreign_account(f"payee {n}") for n in range(20)]
    amounts = [XNO // 100 + n for n in range(20)]
    stack.hold()
    wids = [stack.withdraw("alice", a, p, f"run-{n}")
            for n, (a, p) in enumerate(zip(amounts, payees, strict=True))]
    stack.run_until(lambda: all(stack.withdrawal(w)["state"] == "broadcast" for w in wids))
    assert stack.account(hot)["confirmed_height"] == str(start)  # none confirmed yet
    stack.hold(hold=False)
    stack.run_until(lambda: all(stack.withdrawal(w)["state"] == "confirmed" for w in wids))

    info = stack.account(hot)
    assert info["block_count"] == info["confirmed_height"] == str(start + 20)
    history = stack.rpc("account_history", account=hot, count=str(start + 20), raw=True)
    chain = list(reversed(history["history"]))  # oldest first
    for before, block in pairwise(chain):
        assert block["previous"] == before["hash"]
    sends = [b for b in chain if b["subtype"] == "send"]
    assert [int(b["amount"]) for b in sends] == amounts
    assert all(b["confirmed"] == "true" for b in chain)
    for payee, amount in zip(payees, amounts, strict=True):
        assert list(stack.sends_to(payee).values()) == [amount]
    assert stack.templates("failed") == []
    assert stack.balance("alice") == (10 * XNO - sum(amounts) - 20 * FEE, 0)
