"""One intent, one payment, with a real fee bump.

A withdrawal's first transaction sits in the mempool with a low fee. The watcher builds a
replacement that spends the same coin with a higher fee and declares it (`replaces`); the signer
signs it, because both transactions conflict and only one can ever confirm, and Litecoin Core
replaces the first one (BIP125). A third, undeclared transaction for the same withdrawal is
refused, and so is a "replacement" that spends another coin, which could confirm beside the
first. After mining, the payee has been paid exactly once.
"""

from typing import Any

import pytest
from tests.integration.signer.conftest import Deployment
from tests.support.litecoind import LitecoinNode, RpcError
from tests.support.signer_templates import attach_origins, template, withdrawal

from custody.contract.addresses import PoolAddress
from custody.contract.templates import Template
from custody.contract.withdrawals import Withdrawal

pytestmark = pytest.mark.litecoind


def build(
    node: LitecoinNode,
    wallet: str,
    pool: list[PoolAddress],
    w: Withdrawal,
    *,
    tid: str,
    fee_rate: float,
    change: str,
    inputs: list[dict[str, Any]] | None = None,
    replaces: str | None = None,
) -> Template:
    """The watcher's side: a funded PSBT with key origins, as a template."""
    funded = node.rpc(
        "walletcreatefundedpsbt", inputs or [], [{w.intent.destination: "1.0"}], 0,
        {"includeWatching": True, "changeAddress": change, "replaceable": True,
         "feeRate": fee_rate, "add_inputs": not inputs},
        True, wallet=wallet,
    )
    payload = attach_origins(funded["psbt"], pool)
    txid = node.rpc("decodepsbt", payload)["tx"]["txid"]
    return template(payload, txid, [w], tid=tid, replaces=replaces)


def test_declared_replacement_replaces_and_nothing_else_is_signed(
    litecoind: LitecoinNode, deployment: Deployment
) -> None:
    node, fake = litecoind, deployment.coordinator
    deployment.loop.run_once()
    pool = list(fake.pool.values())
    receive = [a for a in pool if a.branch == "receive"]
    change = [a.address for a in pool if a.branch == "change"]
    watch = node.create_wallet("watch-rbf", watch_only=True)
    for entry in pool:
        node.rpc("importpubkey", entry.public_key, "", False, wallet=watch)
    node.rpc("sendtoaddress", receive[0].address, 3.0, wallet="miner")
    node.rpc("sendtoaddress", receive[1].address, 2.0, wallet="miner")
    node.mine(1)
    payee = node.rpc("getnewaddress", "", "bech32", wallet="miner")
    w = withdrawal("w-rbf", payee, 100_000_000)

    # First transaction: low fee, into the mempool.
    first = build(node, watch, pool, w, tid="tpl-a", fee_rate=0.0002, change=change[0])
    fake.add(first)
    assert deployment.loop.run_once().signed == 1
    assert node.rpc("sendrawtransaction", fake.templates["tpl-a"].signed_payload) == first.txid

    # A declared replacement spending the same coin with a higher fee: signed, and it replaces.
    coin = [{"txid": i["txid"], "vout": i["vout"]}
            for i in node.rpc("decodepsbt", first.payload)["tx"]["vin"]]
    bump = build(node, watch, pool, w, tid="tpl-b", fee_rate=0.001, change=change[1],
                 inputs=coin, replaces="tpl-a")
    fake.add(bump)
    assert deployment.loop.run_once().signed == 1
    assert node.rpc("sendrawtransaction", fake.templates["tpl-b"].signed_payload) == bump.txid
    with pytest.raises(RpcError):
        node.rpc("getmempoolentry", first.txid)

    # An undeclared third transaction for the same withdrawal is refused.
    fake.add(build(node, watch, pool, w, tid="tpl-c", fee_rate=0.002, change=change[0],
                   inputs=coin))
    assert deployment.loop.run_once().refused == 1
    rejection = fake.templates["tpl-c"].rejection
    assert rejection is not None and rejection.code == "withdrawal_already_signed"

    # A "replacement" from another coin could confirm beside the first: refused.
    [other] = [{"txid": u["txid"], "vout": u["vout"]}
               for u in node.rpc("listunspent", 1, 999, [], True, wallet=watch)
               if {"txid": u["txid"], "vout": u["vout"]} not in coin]
    fake.add(build(node, watch, pool, w, tid="tpl-d", fee_rate=0.002, change=change[0],
                   inputs=[other], replaces="tpl-b"))
    assert deployment.loop.run_once().refused == 1
    rejection = fake.templates["tpl-d"].rejection
    assert rejection is not None and rejection.code == "replacement_not_conflicting"

    # The replacement confirms; the payee got 1 LTC once.
    assert bump.txid in node.rpc("getrawmempool")
    node.mine(1)
    received = node.rpc("getreceivedbyaddress", payee, 1, wallet="miner")
    assert received == 1.0
