"""The node takes a transaction but its reply is lost: the watcher sends the same bytes again.

Between the watcher and anvil sits a transport that delivers eth_sendRawTransaction to the node
and then drops the answer, as a timeout or a cut connection would. The watcher cannot know
whether the node has the transaction, so it sends the very same signed bytes again. With mining
paused the node answers "already imported"; with automine the first copy is mined already and
the node answers "nonce too low", which the watcher resolves by looking up its own hash. Both
count as broadcast. When every retry of a round loses its reply, the next round does the same.
No new transaction is ever built: one template, one hash, one payment.
"""

from pathlib import Path

import httpx
import pytest

from custody.watcher.chains.ethereum_rpc import EthRpc
from tests.integration.ethereum.stack import build_stack
from tests.support.anvil import ETHER

PAYEE = "0x000000000000000000000000000000000000FEeD"


class LosingTransport(httpx.BaseTransport):
    """Delivers every request; drops the reply of the first `lose` eth_sendRawTransaction."""

    def __init__(self, lose: int) -> None:
        self.inner = httpx.HTTPTransport()
        self.lose = lose
        self.lost = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        if self.lost < self.lose and b"eth_sendRawTransaction" in request.content:
            response.read()
            self.lost += 1
            raise httpx.ReadTimeout("the reply was lost", request=request)
        return response


@pytest.mark.parametrize(("automine", "lose"), [(False, 1), (True, 1), (True, 2)])
def test_lost_broadcast_reply_is_resolved_by_our_own_hash(
    tmp_path: Path, sqlite_template: Path, automine: bool, lose: int
) -> None:
    with build_stack(tmp_path, sqlite_template, sweep_min=10**30) as stack:
        stack.fund("alice", 5 * ETHER)
        stack.anvil.set_balance(stack.hot(), 10 * ETHER)
        transport = LosingTransport(lose)
        stack.restart_watcher("ETH", rpc=EthRpc(stack.watched["ETH"].node, transport=transport))
        stack.anvil.automine(automine)
        wid = stack.withdraw("alice", ETHER, PAYEE, "lost-1")
        stack.round()
        assert stack.sign().signed == 1

        first = stack.loops["ETH"].run_once()
        if lose == 2:  # both tries of this round lost their reply: the next round sends again
            assert first.count("broadcast") == 0 and first.unavailable
            assert stack.round().count("broadcast") == 1
        else:
            assert first.count("broadcast") == 1
        assert transport.lost == lose
        [template] = stack.templates()
        assert template["status"] == "broadcast"
        stack.anvil.mine(2)
        stack.round()
        assert stack.withdrawal(wid)["state"] == "confirmed"
        assert stack.anvil.balance(PAYEE) == ETHER
        assert len(stack.templates()) == 1
        assert stack.withdrawal(wid)["txid"] == template["txid"]
