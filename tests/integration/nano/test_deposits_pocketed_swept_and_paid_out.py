"""The whole Nano flow: deposits pocketed and swept, then withdrawals paid from the hot account.

Alice and Bob deposit. Each credited deposit gets an open block on its deposit account, then a
sweep send to the hot account, which receives it. Then five withdrawals are paid from the hot
account, each a send built on the frontier of one account_info call, signed offline, published
with `process` and confirmed. In the end the users' ledger matches the chain to the raw.
"""

from tests.integration.nano.stack import FEE, Stack
from tests.unit.nano.nano_templates import XNO, foreign_account


def test_deposits_pocketed_swept_and_paid_out(stack: Stack) -> None:
    alice, bob = stack.address("alice"), stack.address("bob")
    stack.fund(alice, 5 * XNO)
    stack.fund(bob, 2 * XNO + 123)
    hot = stack.hot()
    stack.run_until(lambda: int(stack.account(hot).get("confirmed_balance", 0)) == 7 * XNO + 123)
    assert stack.balance("alice") == (5 * XNO, 0)
    for account in (alice, bob):
        info = stack.account(account)
        assert info["balance"] == "0" and info["block_count"] == "2"  # open, sweep
        assert info["representative"] == stack.watched.node.representative

    carol = foreign_account("carol")
    amounts = [XNO // 10 * (n + 1) for n in range(4)] + [2 * XNO]  # the last needs an approval
    wids = [stack.withdraw("alice", a, carol, f"pay-{n}") for n, a in enumerate(amounts)]
    stack.run_until(lambda: all(stack.withdrawal(w)["state"] == "confirmed" for w in wids))
    assert sorted(stack.sends_to(carol).values()) == sorted(amounts)
    assert stack.balance("alice") == (5 * XNO - sum(amounts) - 5 * FEE, 0)
    assert int(stack.account(hot)["balance"]) == 7 * XNO + 123 - sum(amounts)
    kinds = sorted(t["kind"] for t in stack.templates("confirmed"))
    assert kinds == ["receive"] * 4 + ["sweep"] * 2 + ["withdrawal"] * 5
