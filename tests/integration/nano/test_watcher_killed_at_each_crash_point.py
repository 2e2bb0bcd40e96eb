"""The watcher killed at each of its crash points: no double payment, no lost or double credit.

For every point where the Nano watcher has done one thing and not yet the next (deposits
reported but not pocketed, the sweep list saved but the receive not posted, work generated but
the template not posted, the template posted but the answer lost, the block published but the
coordinator not told), a scenario runs with the watcher dying there three times, each time
replaced by a brand-new one. Two users deposit, their deposits are pocketed and swept, three
withdrawals are paid. In the end: each deposit credited once, each withdrawal paid once, the hot
account holds exactly what came in minus what went out, and the ledger agrees.
"""

import pytest

from custody.watcher.chains.base import CrashPoint
from tests.integration.nano.stack import FEE, Stack, crash_at
from tests.unit.nano.nano_templates import XNO, foreign_account

POINTS = [
    CrashPoint.DEPOSITS_REPORTED,
    CrashPoint.NANO_SWEEP_LISTED,
    CrashPoint.NANO_WORK_READY,
    CrashPoint.TEMPLATE_POSTED,
    CrashPoint.TX_SENT,
]


@pytest.mark.parametrize("point", POINTS, ids=[p.value for p in POINTS])
def test_watcher_killed_at_each_crash_point(stack: Stack, point: CrashPoint) -> None:
    probe = crash_at(point, times=3)
    stack.restart_watcher(probe)
    alice, bob, hot = stack.address("alice"), stack.address("bob"), stack.hot()
    stack.fund(alice, 4 * XNO)
    stack.fund(bob, 3 * XNO)
    payees = [foreign_account(f"crash payee {n}") for n in range(3)]
    wids: list[str] = []

    crashes = 0
    for _ in range(80):
        if not wids and stack.balance("bob")[0] == 3 * XNO:  # credited: bob may withdraw
            wids = [stack.withdraw("bob", XNO // 2, p, f"crash-{n}") for n, p in enumerate(payees)]
        if wids and all(stack.withdrawal(w)["state"] == "confirmed" for w in wids) and (
            int(stack.account(hot).get("confirmed_balance", 0)) == 7 * XNO - 3 * (XNO // 2)
        ):
            break
        crashes += stack.crash_round(probe)
    assert crashes == 3

    assert all(stack.withdrawal(w)["state"] == "confirmed" for w in wids)
    for payee in payees:
        assert list(stack.sends_to(payee).values()) == [XNO // 2]
    assert sorted(d["credit_count"] for d in stack.deposits()) == [1, 1]
    assert stack.balance("alice") == (4 * XNO, 0)
    assert stack.balance("bob") == (3 * XNO - 3 * (XNO // 2 + FEE), 0)
    assert int(stack.account(hot)["balance"]) == 7 * XNO - 3 * (XNO // 2)
    assert stack.account(alice)["balance"] == stack.account(bob)["balance"] == "0"
    assert stack.templates("failed") == []
