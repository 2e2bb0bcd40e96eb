"""A withdrawal from pool addresses, signed by the signer, accepted by Litecoin Core.

The signer fills the real coordinator's address pool over HTTP. Playing the watcher, we import
those public keys into a watch-only wallet of a real litecoind (`importpubkey`) and tell the
coordinator so. Alice pays two of her deposit addresses; once the payments are deep enough the
watcher reports them and the coordinator credits her. The exchange signs her intent to withdraw
2.5 LTC to an outside address and an operator approves it. The watcher reserves a change address,
has the node build the PSBT (`walletcreatefundedpsbt` with `includeWatching`), puts the pool's
key origins on it and posts it as a template. The signer's loop picks the template up, checks
it, signs it and posts the transaction; we take the signed bytes from the coordinator, the node
accepts them, mines them, and the payee sees exactly the amount asked. The watcher's reports
then settle the withdrawal on Alice's ledger account.
"""

import pytest

from custody.contract.templates import TemplateStatus
from tests.integration.signer.conftest import CONFIRMATIONS, Deployment
from tests.support.litecoind import LitecoinNode, RpcError
from tests.support.signer_templates import ONE, attach_origins

pytestmark = pytest.mark.litecoind

AMOUNT = 250_000_000  # 2.5 LTC: the middle tier, one operator approval
FEE = 1000  # the coordinator's withdrawal fee for LTC in the test config


def test_withdrawal_is_signed_and_accepted(litecoind: LitecoinNode, deployment: Deployment) -> None:
    node, api = litecoind, deployment.api

    # The signer keeps the pool full: 4 receive and 2 change addresses.
    assert deployment.loop.run_once().added == 6
    levels = {(p["branch"], p["unused"]) for p in api.signer.get("/v1/addresses/pool").json()}
    assert levels == {("receive", 4), ("change", 2)}

    # The watcher imports the pool's keys watch-only; Alice pays two of her deposit addresses.
    watch = node.create_wallet("watch-happy", watch_only=True)
    deployment.import_pool(node, watch)
    deployment.deposit(node, "alice", 150_000_000, 2 * ONE)
    assert api.balance("alice") == (350_000_000, 0)

    # The exchange asks for 2.5 LTC to Alice's outside address; an operator approves.
    payee = node.rpc("getnewaddress", "", "bech32", wallet="miner")
    wid = deployment.withdraw("req-happy", "alice", payee, AMOUNT, approvers=1)

    # The watcher has the node fund a PSBT from the watched coins, change to a reserved pool
    # change address, adds the pool's key origins and posts it.
    change = deployment.reserve_change("change-happy")
    funded = node.rpc(
        "walletcreatefundedpsbt", [], [{payee: "2.5"}], 0,
        {"includeWatching": True, "changeAddress": change, "replaceable": True},
        True, wallet=watch,
    )
    payload = attach_origins(funded["psbt"], deployment.pool())
    txid = node.rpc("decodepsbt", payload)["tx"]["txid"]
    posted = deployment.post_template(payload, txid, [wid])
    assert posted.status_code == 200, posted.text
    tid = posted.json()["id"]

    # The signer's next pass signs it and posts the transaction to the coordinator.
    report = deployment.loop.run_once()
    assert (report.signed, report.refused) == (1, 0)
    answered = deployment.template(tid)
    assert answered.status is TemplateStatus.SIGNED and answered.signed_payload is not None
    assert answered.txid == txid and answered.withdrawals[0].state == "signed"

    # The node accepts the coordinator's bytes, and again while they sit in the mempool.
    assert node.rpc("sendrawtransaction", answered.signed_payload) == txid
    assert node.rpc("sendrawtransaction", answered.signed_payload) == txid
    deployment.report(tid, "broadcast", {"txid": txid})
    node.mine(1)
    with pytest.raises(RpcError) as mined:
        node.rpc("sendrawtransaction", answered.signed_payload)
    assert mined.value.code == -27  # already in the block chain: success for the watcher

    paid = node.rpc("gettransaction", txid, wallet="miner")
    assert paid["confirmations"] == 1
    assert [d["amount"] for d in paid["details"] if d["address"] == payee] == [2.5]
    change_coins = node.rpc("listunspent", 1, 10, [change], wallet=watch)
    assert len(change_coins) == 1 and change_coins[0]["txid"] == txid

    # Signing the same template again gives the same bytes, and no new journal entry.
    again = deployment.signer.sign(deployment.template(tid))
    assert again.signed_payload == answered.signed_payload
    assert len(deployment.signer.journal) == 1

    # Deep enough: the watcher reports the confirmation and the hold leaves Alice, once.
    node.mine(CONFIRMATIONS - 1)
    block = node.rpc("gettransaction", txid, wallet="miner")
    confirmed = deployment.report(tid, "confirmation", {
        "block_hash": block["blockhash"], "block_height": block["blockheight"],
        "confirmations": block["confirmations"],
    })
    assert confirmed.status is TemplateStatus.CONFIRMED
    assert confirmed.withdrawals[0].state == "confirmed"
    assert api.balance("alice") == (350_000_000 - AMOUNT - FEE, 0)
