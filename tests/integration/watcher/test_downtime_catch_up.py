"""A watcher that was down for 230 blocks catches up in one round and misses nothing.

The watcher imports the pool and stores its cursor, then stops. While it is down, users are
paid in blocks spread over 230 blocks: early ones (long buried), one in the middle, two in the
last two blocks, and one still in the mempool. The exchange also runs out of imported
addresses: the signer tops the pool up and a new user is handed an address the node has never
heard of, and is paid at once. The restarted watcher imports that address (and rescans from its
cursor, because a handed-out address may already be paid), then scans from its cursor: every
buried deposit is credited in that round, the shallow ones are pending, and three blocks later
all are credited, each exactly once.
"""

import pytest

from tests.integration.watcher.stack import LTC, Stack

pytestmark = pytest.mark.litecoind


def test_catch_up_after_230_blocks_of_downtime(stack: Stack) -> None:
    assert stack.round().ok
    users = [f"user{i}" for i in range(25)]
    addresses = {u: stack.address(u) for u in users}  # all 25 imported receive addresses

    # Down. Payments spread over 230 blocks.
    payments: dict[str, int] = {}
    for i, user in enumerate(users[:10]):
        stack.pay(addresses[user], LTC // 10 + i)
        payments[user] = LTC // 10 + i
    stack.mine(100)
    stack.pay(addresses["user10"], 3 * LTC)
    payments["user10"] = 3 * LTC
    stack.mine(100)

    # The pool runs dry; the signer tops it up; a new user's address is not imported yet.
    stack.sign()
    late_address = stack.address("late")
    stack.pay(late_address, 7 * LTC)
    payments["late"] = 7 * LTC
    stack.mine(28)
    stack.pay(addresses["user11"], LTC)
    payments["user11"] = LTC
    stack.mine(1)
    stack.pay(addresses["user12"], 2 * LTC)
    payments["user12"] = 2 * LTC
    stack.mine(1)
    stack.pay(addresses["user13"], LTC // 2)  # still in the mempool
    payments["user13"] = LTC // 2

    # Back up: one round catches up.
    stack.restart_watcher()
    report = stack.round()
    assert report.ok, report
    credited = {d["user_id"] for d in stack.deposits("credited")}
    pending = {d["user_id"] for d in stack.deposits("pending")}
    assert credited == {f"user{i}" for i in range(11)} | {"late"}
    assert pending == {"user11", "user12", "user13"}
    assert stack.balance("late") == (7 * LTC, 0)

    stack.mine(3)
    assert stack.round().ok
    deposits = stack.deposits()
    assert len(deposits) == len(payments)
    assert all(d["state"] == "credited" and d["credit_count"] == 1 for d in deposits)
    for user, amount in payments.items():
        assert stack.balance(user) == (amount, 0), user
