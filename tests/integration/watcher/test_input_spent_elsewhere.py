"""A transaction whose input was spent by something else is failed only once that is buried.

Henry's withdrawal is built, signed and broadcast. Then an operator spends the template's
input with another transaction that a miner puts straight into a block: Henry's transaction is
now conflicted. One confirmation is not proof (a reorg could undo it), so the watcher waits and
builds nothing new. At three confirmations it reports the template failed with outcome `retry`.
The signer cannot see the chain, so Henry's withdrawal waits for an operator's reissue (a
signature over the intent and the dead txid); only then is a new template built, signed and
paid: once.

Ivy's withdrawal is built and signed, but its input is spent, and buried, before the watcher
ever sends it: the node refuses it for missing inputs, the wallet has never seen our
transaction, and the watcher finds the spender among the wallet's transactions to prove it.

Without the reissue the signer would refuse the rebuilt template: its journal holds the first
transaction of the withdrawal, and the new one cannot conflict with inputs that are gone.
"""

from decimal import Decimal
from typing import Any

import pytest

from custody.chains.base58 import b58check_encode
from custody.contract.withdrawals import WithdrawalIntent
from custody.signer.derivation import parse_path
from tests.integration.watcher.stack import LTC, Stack
from tests.support.keys import reissue

FEE = 1000  # the test config's withdrawal fee

pytestmark = pytest.mark.litecoind


def _spend_input_elsewhere(stack: Stack, template: dict[str, Any]) -> str:
    """An operator spends the template's first input to an outside address, mined at once."""
    node = stack.node
    decoded = node.rpc("decodepsbt", template["payload"])
    spent, meta = decoded["tx"]["vin"][0], decoded["inputs"][0]
    key = stack.keys.derive(parse_path(meta["bip32_derivs"][0]["path"]))
    wif = b58check_encode(b"\xef" + key.secret + b"\x01")  # regtest WIF, compressed key
    utxo = meta["witness_utxo"]
    outpoint = {"txid": spent["txid"], "vout": spent["vout"]}
    value = Decimal(str(utxo["amount"])) - Decimal("0.001")
    raw = node.rpc("createrawtransaction", [outpoint], [{stack.outside_address(): str(value)}])
    prevout = {**outpoint, "scriptPubKey": utxo["scriptPubKey"]["hex"], "amount": utxo["amount"]}
    signed = node.rpc("signrawtransactionwithkey", raw, [wif], [prevout])
    assert signed["complete"]
    node.rpc("generateblock", stack.outside_address(), [signed["hex"]])
    return str(node.rpc("decoderawtransaction", signed["hex"])["txid"])


def _reissue(stack: Stack, wid: str, txid: str) -> None:
    """An operator checks the chain and signs that `txid` of this withdrawal is dead."""
    intent = WithdrawalIntent.model_validate(stack.withdrawal(wid)["intent"])
    r = stack.api.operator.post(f"/v1/withdrawals/{wid}/reissues", reissue(intent, txid))
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "approved"


def test_failed_only_when_the_conflict_is_buried(stack: Stack) -> None:
    stack.fund_users(["henry", "ivy", "jack"], LTC)
    henry = stack.withdraw("henry", 4 * LTC // 10, stack.outside_address(), "henry-1")
    stack.cycle()
    [first] = stack.templates("broadcast")

    _spend_input_elsewhere(stack, first)
    assert stack.round().ok
    assert stack.withdrawal(henry)["state"] == "broadcast"  # one block is no proof
    stack.mine(1)
    stack.round()
    assert [t["id"] for t in stack.templates()] == [first["id"]]  # nothing new built

    stack.mine(1)  # the conflict is three deep
    stack.round()
    failed = next(t for t in stack.templates() if t["id"] == first["id"])
    assert failed["status"] == "failed"
    assert failed["failure"]["code"] == "input_spent" and failed["failure"]["outcome"] == "retry"
    assert stack.withdrawal(henry)["state"] == "awaiting_reissue"
    stack.round()
    assert len(stack.templates()) == 1  # nothing is built before the operators' word

    _reissue(stack, henry, first["txid"])
    stack.cycle()
    [rebuilt] = stack.templates("broadcast")
    assert [w["id"] for w in rebuilt["withdrawals"]] == [henry]
    stack.mine(3)
    stack.round()
    assert stack.withdrawal(henry)["state"] == "confirmed"
    assert stack.balance("henry") == (LTC - 4 * LTC // 10 - FEE, 0)

    # Ivy: signed, never sent; its input is spent and buried before the watcher sends it.
    ivy = stack.withdraw("ivy", 3 * LTC // 10, stack.outside_address(), "ivy-1")
    stack.round()
    assert stack.sign() == 1
    [signed] = stack.templates("signed")
    _spend_input_elsewhere(stack, signed)
    stack.mine(2)
    stack.round()
    ivys = next(t for t in stack.templates() if t["id"] == signed["id"])
    assert ivys["status"] == "failed" and ivys["failure"]["code"] == "input_spent"
    assert stack.withdrawal(ivy)["state"] == "awaiting_reissue"
    _reissue(stack, ivy, signed["txid"])
    stack.cycle()
    stack.mine(3)
    stack.round()
    assert stack.withdrawal(ivy)["state"] == "confirmed"
