"""Deposits are discovered in the mempool, follow their confirmations, and are credited once.

The signer fills the pool and the watcher imports it into a new watch-only wallet. Three users
get deposit addresses; one transaction pays two of them and another pays the third. The watcher
reports all three as pending while they sit in the mempool, then with one confirmation, and
credits them when they reach the currency's three. A payment to one of our change addresses is
not a deposit and is never reported; a payment to a pool address no user was given is not
reported either, and the round goes on. A restarted watcher reports nothing twice: each deposit
is credited exactly once.
"""

import pytest

from tests.integration.watcher.stack import LTC, Stack

pytestmark = pytest.mark.litecoind


def test_deposits_are_discovered_and_credited_once(stack: Stack) -> None:
    # The pool reaches the node: every address, receive and change, is imported.
    first = stack.round()
    assert first.ok, first
    assert first.count("import_addresses") == 30
    assert not stack.api.watcher.get("/v1/addresses", currency="LTC", imported="false").json()

    alice, bob, carol = (stack.address(u) for u in ("alice", "bob", "carol"))
    both = stack.pay_many({alice: 15 * LTC // 10, bob: LTC // 4})
    single = stack.pay(carol, 2 * LTC)

    # In the mempool: pending with no confirmation, nothing credited.
    assert stack.round().count("discover_deposits") == 3
    pending = {d["address"]: d for d in stack.deposits()}
    assert {a: d["state"] for a, d in pending.items()} == dict.fromkeys(
        (alice, bob, carol), "pending"
    )
    assert all(d["confirmations"] == 0 and d["block_hash"] is None for d in pending.values())
    assert stack.balance("alice") == (0, 0)

    # One block: still pending, now in a block.
    [block] = stack.mine(1)
    stack.round()
    assert {d["state"] for d in stack.deposits()} == {"pending"}
    assert {(d["block_hash"], d["confirmations"]) for d in stack.deposits()} == {(block, 1)}

    # Three blocks deep: credited, to the right users, with the right amounts.
    stack.mine(2)
    stack.round()
    assert {d["state"] for d in stack.deposits()} == {"credited"}
    assert stack.balance("alice") == (15 * LTC // 10, 0)
    assert stack.balance("bob") == (LTC // 4, 0)
    assert stack.balance("carol") == (2 * LTC, 0)
    assert stack.deposit(single) is not None
    assert {d["output_index"] for d in stack.deposits() if d["txid"] == both} != set()

    # Coins to a change address (ours, but no deposit) and to an unassigned pool address.
    change = stack.api.watcher.post(
        "/v1/addresses/change", {"currency": "LTC"}, key="test-change"
    ).json()["address"]
    unassigned = next(
        a["address"]
        for a in stack.api.watcher.get("/v1/addresses", currency="LTC", limit=100).json()
        if a["branch"] == "receive" and a["address"] not in (alice, bob, carol)
    )
    stray = stack.pay_many({change: LTC // 10, unassigned: LTC // 10})
    stack.mine(3)
    report = stack.round()
    assert report.ok, report
    assert stack.deposit(stray) is None

    # A new watcher process: nothing is reported twice, nothing is credited twice.
    stack.restart_watcher()
    again = stack.round()
    assert again.ok and again.count("discover_deposits") == 0
    credited = stack.deposits("credited")
    assert len(credited) == 3 and all(d["credit_count"] == 1 for d in credited)
    assert stack.balance("alice") == (15 * LTC // 10, 0)
