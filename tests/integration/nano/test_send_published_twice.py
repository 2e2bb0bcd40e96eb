"""A send published twice is one payment: the node's refusal is resolved by block_info.

Alice withdraws. The watcher publishes the signed send and dies before telling the coordinator
(crash point TX_SENT). The new watcher publishes the same stored bytes again; the peer answers
"Invalid block balance for given subtype", exactly as nano_node does for a republished send
(the account's balance already equals the block's). The watcher asks block_info for the hash,
finds the block, and reports it broadcast: one send to the destination, confirmed once.
"""

from custody.watcher.chains.base import CrashPoint
from tests.integration.nano.stack import Stack, crash_at, link_of
from tests.unit.nano.nano_templates import XNO, foreign_account


def test_send_published_twice_is_one_payment(stack: Stack) -> None:
    stack.fund_user("alice", 2 * XNO)
    dave = foreign_account("dave")
    wid = stack.withdraw("alice", XNO // 2, dave, "twice")
    stack.restart_watcher(crash_at(CrashPoint.TX_SENT))
    stack.run_until(lambda: stack.withdrawal(wid)["state"] == "signed")
    assert stack.crash_round()  # published, then killed before reporting
    assert stack.withdrawal(wid)["state"] == "signed"

    stack.run_until(lambda: stack.withdrawal(wid)["state"] == "confirmed")
    sends = [(q, a) for q, a in stack.node_transport.process_calls()
             if q["block"]["link"] == link_of(dave)]
    assert [a for _, a in sends] == [
        {"hash": stack.withdrawal(wid)["txid"]},
        {"error": "Invalid block balance for given subtype"},
    ]
    assert sends[0][0] == sends[1][0]  # the same bytes both times
    assert list(stack.sends_to(dave).values()) == [XNO // 2]

