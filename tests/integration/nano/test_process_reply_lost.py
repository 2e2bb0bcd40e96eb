"""`process` applies the block and the reply is lost: the retry sends the same bytes, one payment.

Alice withdraws. The peer is told to carry out the next `process` and then close the connection
without an answer, like a reply lost to a timeout. The watcher's node client retries the very
same request; the peer, which already has the send, answers "Invalid block balance for given
subtype"; block_info finds the block, so it is reported broadcast and then confirmed. The
destination is paid once.
"""

from tests.integration.nano.stack import Stack, link_of
from tests.unit.nano.nano_templates import XNO, foreign_account


def test_lost_process_reply_is_one_payment(stack: Stack) -> None:
    stack.fund_user("alice", XNO)
    erin = foreign_account("erin")
    wid = stack.withdraw("alice", 12345, erin, "lost-reply")
    stack.run_until(lambda: stack.withdrawal(wid)["state"] == "signed")
    assert stack.rpc("peer_drop_next_reply", for_action="process") == {"success": ""}
    stack.run_until(lambda: stack.withdrawal(wid)["state"] == "confirmed")

    attempts = [(q, a) for q, a in stack.node_transport.process_calls()
                if q["block"]["link"] == link_of(erin)]
    assert [a for _, a in attempts] == [
        None,  # applied by the peer, answer lost
        {"error": "Invalid block balance for given subtype"},
    ]
    assert attempts[0][0] == attempts[1][0]
    assert list(stack.sends_to(erin).values()) == [12345]
    assert stack.balance("alice") == (XNO - 12345 - 1000, 0)
