"""A withdrawal stuck behind a fee spike is replaced at the same nonce; exactly one confirms.

Mining is paused. Alice's withdrawal of 1 ETH is built, signed and broadcast: it waits in the
mempool. Then the base fee jumps above what the transaction offers, so no block will take it.
The watcher sees it pending while the market asks more and builds a declared replacement: the
same nonce, the same payment, fees raised. The signer signs it (its journal shows the same
withdrawal at the same nonce: a replacement, not a second payment), the node swaps it for the
first one, and the next blocks mine the replacement. The first transaction can never be mined
now (its nonce is used): it is reported nowhere, the withdrawal is confirmed once, and the
payee received exactly 1 ETH.
"""

from pathlib import Path

from custody.chains.ethereum_tx import TemplatePayload
from tests.integration.ethereum.stack import build_stack
from tests.support.anvil import ETHER, RpcError

PAYEE = "0x000000000000000000000000000000000000bEEF"


def test_stuck_withdrawal_is_replaced_and_one_confirms(
    tmp_path: Path, sqlite_template: Path
) -> None:
    # No sweeps here: only the withdrawal is in flight.
    with build_stack(tmp_path, sqlite_template, replace_after=0, sweep_min=10**30) as stack:
        stack.fund("alice", 10 * ETHER)
        hot = stack.hot()
        stack.anvil.set_balance(hot, 50 * ETHER)
        stack.anvil.automine(False)
        wid = stack.withdraw("alice", ETHER, PAYEE, "stuck-1")
        stack.cycle()
        [first] = stack.templates("ETH", "broadcast")
        offered = TemplatePayload.parse(first["payload"]).tx.max_fee_per_gas
        assert stack.round().count("replace_stuck") == 0  # the market asks no more: wait

        stack.anvil.rpc("anvil_setNextBlockBaseFeePerGas", hex(offered * 3))
        assert stack.round().count("replace_stuck") == 1
        [second] = stack.templates("ETH", "unsigned")
        assert second["replaces"] == first["id"]
        old, new = (TemplatePayload.parse(t["payload"]).tx for t in (first, second))
        assert (new.nonce, new.to, new.value) == (old.nonce, old.to, old.value)
        assert new.max_fee_per_gas >= offered * 3 and new.max_priority_fee_per_gas > \
            old.max_priority_fee_per_gas
        assert stack.sign().signed == 1
        assert stack.round().count("broadcast") == 1

        stack.anvil.mine(2)
        stack.round()
        replaced = stack.api.watcher.get(f"/v1/templates/{first['id']}").json()
        confirmed = stack.api.watcher.get(f"/v1/templates/{second['id']}").json()
        assert (replaced["status"], confirmed["status"]) == ("replaced", "confirmed")
        assert stack.anvil.receipt(first["txid"]) is None
        assert stack.anvil.receipt(confirmed["txid"])["status"] == "0x1"
        assert stack.withdrawal(wid)["state"] == "confirmed"
        assert stack.withdrawal(wid)["txid"] == confirmed["txid"]
        assert stack.anvil.balance(PAYEE) == ETHER
        assert stack.anvil.nonce(hot) == 1
        try:  # the first one can never be mined now
            stack.anvil.rpc("eth_sendRawTransaction", "0x" + replaced["signed_payload"])
        except RpcError as e:
            assert "nonce too low" in e.message
        else:
            raise AssertionError("the replaced transaction was accepted again")
        assert stack.balance("alice") == (9 * ETHER - 1000, 0)
