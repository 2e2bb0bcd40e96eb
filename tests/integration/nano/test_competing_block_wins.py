"""A competing block takes the hot account's frontier: the withdrawal fails, but only once the
competitor is confirmed, and nothing is paid twice.

Two variants, as an election could go:
- before ours is published: a block signed with the hot key (a leaked key, or a second wallet)
  lands on the frontier our send was built on. Publishing ours answers "Fork";
- after ours is published: the peer rolls our send back and puts the competitor in its place,
  as a lost election would. block_info no longer finds ours; republishing answers "Fork".
While the competitor is unconfirmed the withdrawal keeps its hold (ours could still win). Once
it confirms, the template fails, the withdrawal fails and its hold is released. The account
goes on: the next withdrawal is built on the competitor and paid.
"""

import pytest

from custody.watcher.chains.base import CrashPoint
from tests.integration.nano.stack import Stack, crash_at, link_of
from tests.unit.nano.nano_templates import XNO, foreign_account, private_key


@pytest.mark.parametrize("published", [False, True], ids=["before publishing", "rolled back"])
def test_competing_block_wins_the_frontier(stack: Stack, published: bool) -> None:
    stack.fund_user("alice", 2 * XNO)
    frank = foreign_account("frank")
    wid = stack.withdraw("alice", XNO // 4, frank, "contested")
    state = "broadcast" if published else "signed"
    stack.hold()  # nothing confirms: ours (once published) and the competitor stay contested
    stack.run_until(lambda: stack.withdrawal(wid)["state"] == state)
    competitor = fork(stack, rollback=published)
    stack.hold([competitor])
    stack.hold(hold=False)
    if published:
        stack.restart_watcher(crash_at(CrashPoint.TX_RESENT))  # and die after republishing
        assert stack.crash_round()
    for _ in range(3):
        stack.cycle()
    assert stack.withdrawal(wid)["state"] == state
    assert stack.balance("alice")[1] == XNO // 4 + 1000  # still held

    stack.hold([competitor], hold=False)
    stack.run_until(lambda: stack.withdrawal(wid)["state"] == "failed")
    withdrawal = stack.withdrawal(wid)
    assert withdrawal["failure_code"] == "nano_fork_lost"
    answers = [a for q, a in stack.node_transport.process_calls()
               if q["block"]["link"] == link_of(frank)]
    assert {"error": "Fork"} in answers
    assert stack.balance("alice") == (2 * XNO, 0)
    assert stack.sends_to(frank) == {}

    again = stack.withdraw("alice", XNO // 4, frank, "contested-again")
    stack.run_until(lambda: stack.withdrawal(again)["state"] == "confirmed")
    assert list(stack.sends_to(frank).values()) == [XNO // 4]


def fork(stack: Stack, *, rollback: bool) -> str:
    """The peer signs a competing block with the hot key; its hash."""
    answer = stack.rpc("peer_fork_frontier", account=stack.hot(),
                       private_key=private_key(0).hex(), rollback=rollback)
    assert "hash" in answer, answer
    return str(answer["hash"])
