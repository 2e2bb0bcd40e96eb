"""One intent, one payment, with a real fee bump.

Alice has three coins in the exchange's pool and asks for two withdrawals. The first one's
transaction sits in the mempool with a low fee. The watcher builds a replacement that spends the
same coin with a higher fee and declares it (`replaces`); the coordinator lets it take over the
withdrawal, the signer signs it, because both transactions conflict and only one can ever
confirm, and Litecoin Core replaces the first one (BIP125).

A third, undeclared transaction for the same withdrawal is refused: the coordinator will not
store it while the bump is live, nor after the watcher wrongly reports the bump as unable to
confirm (a signed withdrawal then waits for an operator's reissue; the signer's own refusal of
an unreissued second transaction is shown in tests/unit/signer/test_signer_reissue.py). The second withdrawal's transaction is signed and broadcast too; a
"replacement" for it that spends another coin, and so could confirm beside it, reaches the
signer (the coordinator does not read transactions) and is refused. After mining, each payee
has been paid exactly once.
"""

from typing import Any

import pytest

from custody.contract.templates import TemplateStatus
from tests.integration.signer.conftest import Deployment, btc
from tests.support.litecoind import LitecoinNode, RpcError
from tests.support.signer_templates import ONE, attach_origins

pytestmark = pytest.mark.litecoind


class Watcher:
    """The watcher's side: funded PSBTs with the pool's key origins, posted as templates."""

    def __init__(self, node: LitecoinNode, deployment: Deployment, wallet: str):
        self.node, self.deployment, self.wallet = node, deployment, wallet
        self.builds = 0

    def build(
        self, wid: str, coin: dict[str, Any], *, fee_rate: float, replaces: str | None = None
    ) -> tuple[int, dict[str, Any]]:
        """Spend `coin` to the withdrawal's payee with change to a reserved pool address and post
        it; returns the coordinator's status code and answer."""
        self.builds += 1
        change = self.deployment.reserve_change(f"change-{self.builds}")
        pool = self.deployment.import_pool(self.node, self.wallet)
        intent = self.deployment.api.watcher.get(f"/v1/withdrawals/{wid}").json()["intent"]
        pays = {intent["destination"]: btc(int(intent["amount"]))}
        funded = self.node.rpc(
            "walletcreatefundedpsbt",
            [coin],
            [pays],
            0,
            {
                "includeWatching": True,
                "changeAddress": change,
                "replaceable": True,
                "feeRate": fee_rate,
                "add_inputs": False,
            },
            True,
            wallet=self.wallet,
        )
        payload = attach_origins(funded["psbt"], pool)
        txid = self.node.rpc("decodepsbt", payload)["tx"]["txid"]
        r = self.deployment.post_template(payload, txid, [wid], replaces)
        return r.status_code, r.json()

    def post(self, wid: str, coin: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        """`build` that the coordinator must accept."""
        status, answer = self.build(wid, coin, **kwargs)
        assert status == 200, answer
        return answer

    def broadcast(self, tid: str) -> str:
        """Send the signed bytes the coordinator holds to the node, and report it."""
        signed = self.deployment.template(tid)
        assert signed.status is TemplateStatus.SIGNED and signed.signed_payload is not None
        txid: str = self.node.rpc("sendrawtransaction", signed.signed_payload)
        assert txid == signed.txid
        self.deployment.report(tid, "broadcast", {"txid": txid})
        return txid


def test_declared_replacement_replaces_and_nothing_else_is_signed(
    litecoind: LitecoinNode, deployment: Deployment
) -> None:
    node, loop = litecoind, deployment.loop
    loop.run_once()
    watch = node.create_wallet("watch-rbf", watch_only=True)
    deployment.import_pool(node, watch)
    first_coin, second_coin, other_coin = deployment.deposit(node, "alice", 3 * ONE, 2 * ONE, ONE)
    watcher = Watcher(node, deployment, watch)
    payee = node.rpc("getnewaddress", "", "bech32", wallet="miner")
    payee2 = node.rpc("getnewaddress", "", "bech32", wallet="miner")
    w = deployment.withdraw("req-rbf", "alice", payee, ONE)
    w2 = deployment.withdraw("req-rbf-2", "alice", payee2, ONE // 2)

    # First transaction: low fee, into the mempool.
    first = watcher.post(w, first_coin, fee_rate=0.0002)
    assert loop.run_once().signed == 1
    first_txid = watcher.broadcast(first["id"])

    # A declared replacement spending the same coin with a higher fee: signed, and it replaces.
    bump = watcher.post(w, first_coin, fee_rate=0.001, replaces=first["id"])
    assert loop.run_once().signed == 1
    bump_txid = watcher.broadcast(bump["id"])
    with pytest.raises(RpcError):
        node.rpc("getmempoolentry", first_txid)
    assert deployment.template(first["id"]).status is TemplateStatus.REPLACED
    assert deployment.template(bump["id"]).withdrawals[0].template_id == bump["id"]

    # An undeclared third transaction for the same withdrawal: the coordinator will not take it.
    status, answer = watcher.build(w, first_coin, fee_rate=0.002)
    assert (status, answer["error"]["code"]) == (409, "withdrawal_in_live_template")
    # The watcher wrongly reports the bump as unable to confirm. The coordinator, which cannot
    # see the chain, still holds the withdrawal back: its transactions were signed, so nothing
    # new is built for it before an operator checks the chain and reissues it.
    deployment.report(
        bump["id"],
        "failure",
        {
            "code": "inputs_spent",
            "reason": "not true: the bump is in the mempool",
            "outcome": "retry",
        },
    )
    status, answer = watcher.build(w, first_coin, fee_rate=0.002)
    assert (status, answer["error"]["code"]) == (409, "illegal_state")
    assert loop.run_once().signed == 0  # a pass: nothing to sign; the pool is topped up

    # The second withdrawal is signed and broadcast; a "replacement" from another coin could
    # confirm beside it: the coordinator stores it, the signer refuses it.
    second = watcher.post(w2, second_coin, fee_rate=0.0002)
    assert loop.run_once().signed == 1
    second_txid = watcher.broadcast(second["id"])
    stray = watcher.post(w2, other_coin, fee_rate=0.002, replaces=second["id"])
    assert loop.run_once().refused == 1
    rejection = deployment.template(stray["id"]).rejection
    assert rejection is not None and rejection.code == "replacement_not_conflicting"

    # The bump and the second transaction confirm; each payee was paid once.
    assert set(node.rpc("getrawmempool")) == {bump_txid, second_txid}
    node.mine(1)
    assert node.rpc("getreceivedbyaddress", payee, 1, wallet="miner") == 1.0
    assert node.rpc("getreceivedbyaddress", payee2, 1, wallet="miner") == 0.5
    assert len(deployment.signer.journal) == 3  # first, bump, second: nothing else was signed
