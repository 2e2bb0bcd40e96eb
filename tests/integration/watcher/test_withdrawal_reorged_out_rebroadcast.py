"""A withdrawal transaction reorged out of the chain and lost by the node is broadcast again.

Dave withdraws 0.5 LTC. The watcher builds the template, the signer signs, the watcher
broadcasts, and a block mines it. That block is invalidated, and the node is restarted without
its mempool file and with wallet broadcasting off, so nothing puts the transaction back: it is
in no block and in no mempool. While the node is down, a watcher round reports it unreachable
and carries on. When the node is back, the watcher loads its wallet again, relocks nothing
(the template is broadcast, its inputs are spent), sees the transaction missing and sends the
very same signed bytes again. Three blocks later the withdrawal is confirmed and settled once;
Dave's destination got 0.5 LTC, once.
"""

import pytest

from tests.integration.watcher.stack import LTC, Stack

pytestmark = pytest.mark.litecoind

AMOUNT = LTC // 2


def test_reorged_out_withdrawal_is_sent_again(stack: Stack) -> None:
    node = stack.node
    stack.fund_users(["dave"], LTC)
    destination = stack.outside_address()
    wid = stack.withdraw("dave", AMOUNT, destination, "dave-1")
    stack.cycle()
    [template] = stack.templates("broadcast")
    txid = template["txid"]
    [block] = stack.mine(1)
    stack.round()
    assert stack.withdrawal(wid)["state"] == "broadcast"

    # Reorged out, then forgotten: no block, no mempool.
    node.rpc("invalidateblock", block)
    assert txid in node.rpc("getrawmempool")
    node.halt(drop_mempool=True)
    down = stack.round()
    assert down.unavailable and not down.ok
    node.start_with("-walletbroadcast=0")
    assert txid not in node.rpc("getrawmempool")

    # The watcher sends the same bytes again.
    report = stack.round()
    assert report.ok, report
    assert txid in node.rpc("getrawmempool")
    assert node.rpc("getrawtransaction", txid) == template["signed_payload"]

    stack.mine(3)
    stack.round()
    assert stack.withdrawal(wid)["state"] == "confirmed"
    assert stack.balance("dave") == (LTC - AMOUNT - 1000, 0)
    assert stack.received_by(destination) == AMOUNT
    assert len(stack.templates()) == 1
