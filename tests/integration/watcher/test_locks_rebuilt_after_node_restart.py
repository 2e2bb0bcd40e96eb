"""Coin locks are rebuilt from the live templates when the node has forgotten them.

Frank and Grace each deposit 1 LTC (two coins). Frank's withdrawal becomes a template whose
input the node locks. Before the signer gets to it, the node restarts and forgets every lock.
Grace then withdraws: the watcher first locks the live template's input again, so the node
funds Grace's template from the other coin. The two transactions share no input; both are
signed, broadcast and confirmed, each paying its withdrawal once.
"""

import pytest

from tests.integration.watcher.stack import LTC, Stack

pytestmark = pytest.mark.litecoind


def _inputs(stack: Stack, template: dict[str, object]) -> set[tuple[str, int]]:
    decoded = stack.node.rpc("decodepsbt", template["payload"])
    return {(i["txid"], i["vout"]) for i in decoded["tx"]["vin"]}


def test_locks_come_back_after_a_node_restart(stack: Stack) -> None:
    wallet = stack.watched.node.wallet
    stack.round()
    stack.pay(stack.address("frank"), LTC)
    stack.pay(stack.address("grace"), LTC)
    stack.mine(3)
    stack.round()

    frank_to = stack.outside_address()
    frank = stack.withdraw("frank", 6 * LTC // 10, frank_to, "frank-1")
    stack.round()
    [first] = stack.templates("unsigned")
    assert len(stack.node.rpc("listlockunspent", wallet=wallet)) == 1

    stack.node.restart(drop_mempool=False)
    assert stack.node.rpc("listlockunspent", wallet=wallet) == []

    grace_to = stack.outside_address()
    grace = stack.withdraw("grace", 6 * LTC // 10, grace_to, "grace-1")
    assert stack.round().ok
    second = next(t for t in stack.templates("unsigned") if t["id"] != first["id"])
    assert _inputs(stack, first).isdisjoint(_inputs(stack, second))
    locked = {(o["txid"], o["vout"]) for o in stack.node.rpc("listlockunspent", wallet=wallet)}
    assert locked == _inputs(stack, first) | _inputs(stack, second)

    assert stack.sign() == 2
    stack.round()
    stack.mine(3)
    stack.round()
    assert {stack.withdrawal(w)["state"] for w in (frank, grace)} == {"confirmed"}
    assert stack.received_by(frank_to) == 6 * LTC // 10
    assert stack.received_by(grace_to) == 6 * LTC // 10
