"""Broadcast is retried after a lost reply, and "already in the block chain" counts as success.

Erin's withdrawal is built and signed. The watcher's node connection then loses every reply to
sendrawtransaction: the node accepts the transaction, the watcher never hears so. Its round
fails that step (the RPC client retried, each reply lost too) and the template stays `signed`.
A block mines the transaction before the watcher tries again; the next round's send gets -27
"already in block chain" for our own txid, which is success: the template is reported
broadcast. The coordinator's answer to that report is lost too, once; the report is simply
made again next round. Three blocks later the withdrawal is confirmed, paid once.
"""

import httpx
import pytest

from tests.integration.watcher.stack import LTC, LossyTransport, Stack

pytestmark = pytest.mark.litecoind

AMOUNT = LTC // 4


def _sends(request: httpx.Request) -> bool:
    return b'"sendrawtransaction"' in request.content


def test_lost_replies_are_retried(stack: Stack) -> None:
    stack.fund_users(["erin"], LTC)
    destination = stack.outside_address()
    wid = stack.withdraw("erin", AMOUNT, destination, "erin-1")
    stack.round()
    assert stack.sign() == 1
    [template] = stack.templates("signed")

    # Every reply to sendrawtransaction is lost: the node has the tx, the watcher does not know.
    lossy_node = LossyTransport(_sends)
    stack.restart_watcher(node_transport=lossy_node)
    report = stack.round()
    assert report.count("broadcast") == 0 and not report.ok
    assert len(lossy_node.lost) == stack.watched.node.rpc_retries
    assert template["txid"] in stack.node.rpc("getrawmempool")
    assert stack.templates("signed")

    # Mined before the watcher tries again; the coordinator's first answer is lost as well.
    stack.mine(1)
    lost_once: list[bytes] = []

    def first_broadcast_report(request: httpx.Request) -> bool:
        if request.url.path.endswith("/broadcast") and not lost_once:
            lost_once.append(request.content)
            return True
        return False

    stack.restart_watcher(coordinator_transport=LossyTransport(first_broadcast_report))
    assert not stack.round().ok
    assert lost_once and stack.templates("broadcast")  # it was stored; we did not hear so
    report = stack.round()
    assert report.ok, report
    assert report.count("broadcast") == 0  # nothing left to send: the template is broadcast

    stack.mine(2)
    stack.round()
    assert stack.withdrawal(wid)["state"] == "confirmed"
    assert stack.received_by(destination) == AMOUNT
    assert stack.balance("erin") == (LTC - AMOUNT - 1000, 0)
