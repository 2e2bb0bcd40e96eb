"""A withdrawal from pool addresses, signed by the signer, accepted by Litecoin Core.

The signer fills the coordinator's address pool. Playing the watcher, we import those public
keys into a watch-only wallet of a real litecoind (`importpubkey`), fund two of them, and have
the node build the PSBT (`walletcreatefundedpsbt` with `includeWatching`, change to a pool
change address), then put the pool's key origins on it. The exchange signs the intent and an
operator approves it. The signer's loop picks the template up, checks it, signs it and posts
the transaction; the node accepts it, mines it, and the payee sees exactly the amount asked.
"""

import pytest
from tests.integration.signer.conftest import Deployment
from tests.support.keys import OPERATORS
from tests.support.litecoind import LitecoinNode, RpcError
from tests.support.signer_templates import attach_origins, template, withdrawal

from custody.contract.templates import TemplateStatus

pytestmark = pytest.mark.litecoind

AMOUNT = 250_000_000  # 2.5 LTC: the middle tier, one operator approval


def test_withdrawal_is_signed_and_accepted(litecoind: LitecoinNode, deployment: Deployment) -> None:
    node, pool = litecoind, deployment.coordinator.pool

    # The signer keeps the pool full: 4 receive and 2 change addresses.
    assert deployment.loop.run_once().added == 6
    receive = sorted((a for a in pool.values() if a.branch == "receive"),
                     key=lambda a: a.derivation_path)
    change = next(a for a in pool.values() if a.branch == "change")

    # The watcher imports the pool's keys watch-only; the exchange's users pay two of them.
    watch = node.create_wallet("watch-happy", watch_only=True)
    for entry in pool.values():
        node.rpc("importpubkey", entry.public_key, entry.derivation_path, False, wallet=watch)
    node.rpc("sendtoaddress", receive[0].address, 1.5, wallet="miner")
    node.rpc("sendtoaddress", receive[1].address, 2.0, wallet="miner")
    node.mine(1)

    # The exchange asks for 2.5 LTC to a user's outside address; an operator approves.
    payee = node.rpc("getnewaddress", "", "bech32", wallet="miner")
    w = withdrawal("w-happy", payee, AMOUNT, approvers=OPERATORS[:1])

    # The watcher has the node fund a PSBT from the watched coins, then adds key origins.
    funded = node.rpc(
        "walletcreatefundedpsbt", [], [{payee: "2.5"}], 0,
        {"includeWatching": True, "changeAddress": change.address, "replaceable": True},
        True, wallet=watch,
    )
    payload = attach_origins(funded["psbt"], list(pool.values()))
    txid = node.rpc("decodepsbt", payload)["tx"]["txid"]
    deployment.coordinator.add(template(payload, txid, [w], tid="tpl-happy"))

    # The signer's next pass signs it and posts the transaction.
    report = deployment.loop.run_once()
    assert (report.signed, report.refused) == (1, 0)
    answered = deployment.coordinator.templates["tpl-happy"]
    assert answered.status is TemplateStatus.SIGNED and answered.signed_payload is not None

    # The node accepts the broadcast, and again while it sits in the mempool.
    assert node.rpc("sendrawtransaction", answered.signed_payload) == txid
    assert node.rpc("sendrawtransaction", answered.signed_payload) == txid
    node.mine(1)
    with pytest.raises(RpcError) as mined:
        node.rpc("sendrawtransaction", answered.signed_payload)
    assert mined.value.code == -27  # already in the block chain: success for the watcher

    paid = node.rpc("gettransaction", txid, wallet="miner")
    assert paid["confirmations"] == 1
    assert [d["amount"] for d in paid["details"] if d["address"] == payee] == [2.5]
    change_coins = node.rpc("listunspent", 1, 10, [change.address], wallet=watch)
    assert len(change_coins) == 1 and change_coins[0]["txid"] == txid

    # Signing the same template again gives the same bytes, and no new journal entry.
    again = deployment.signer.sign(deployment.coordinator.templates["tpl-happy"])
    assert again.signed_payload == answered.signed_payload
    assert len(deployment.signer.journal) == 1
