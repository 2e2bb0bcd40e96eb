"""Twenty withdrawals get twenty consecutive nonces of the hot wallet, no gap, each paid once.

Alice's 30 ETH deposit is credited and the hot wallet holds the exchange's float. She asks
for twenty withdrawals to twenty addresses. One watcher round builds twenty templates from the
hot wallet, nonces 0 to 19 in the order the withdrawals came; the signer signs them all; the
next round broadcasts them lowest nonce first and the node mines every one. Two blocks later
each withdrawal is confirmed and settled on the ledger exactly once.

Then a withdrawal above the signer's per-withdrawal limit (the coordinator's own limit lets it
through) is refused by the signer while the next one, built in the same round, was signed: its
nonce is a gap that would hold every later transaction back. The watcher reports the gap and
fills it with a zero-value transfer of the hot wallet to itself; the later withdrawal confirms.
"""

import hashlib

from custody.chains.ethereum import to_checksum_address
from custody.chains.ethereum_tx import TemplatePayload
from tests.integration.ethereum.stack import EthStack
from tests.support.anvil import ETHER


def destination(i: int) -> str:
    """An address of nobody we know."""
    return to_checksum_address("0x" + hashlib.sha256(f"payee {i}".encode()).hexdigest()[:40])


def nonces(stack: EthStack, hot: str) -> list[tuple[int, str, str]]:
    """(nonce, kind, status) of the hot wallet's templates."""
    out = []
    for t in stack.templates("ETH"):
        payload = TemplatePayload.parse(t["payload"])
        if payload.sender == hot:
            out.append((payload.tx.nonce, t["kind"], t["status"]))
    return sorted(out)


def test_twenty_withdrawals_consecutive_nonces(stack: EthStack) -> None:
    stack.fund("alice", 30 * ETHER)
    hot = stack.hot()
    stack.anvil.set_balance(hot, 100 * ETHER)
    ids = [stack.withdraw("alice", ETHER, destination(i), f"w-{i}") for i in range(20)]

    assert stack.round().count("build_withdrawals") == 20
    assert [n for n, _, _ in nonces(stack, hot)] == list(range(20))
    assert stack.sign().signed >= 20
    assert stack.round().count("broadcast") >= 20
    assert stack.anvil.nonce(hot) == 20
    stack.anvil.mine(2)
    stack.round()
    assert {stack.withdrawal(w)["state"] for w in ids} == {"confirmed"}
    assert all(stack.anvil.balance(destination(i)) == ETHER for i in range(20))
    assert stack.balance("alice") == (30 * ETHER - 20 * (ETHER + 1000), 0)
    txids = {stack.withdrawal(w)["txid"] for w in ids}
    assert len(txids) == 20
    assert {n for n, _, s in nonces(stack, hot)} == set(range(20))


def test_nonce_gap_is_reported_and_filled(stack: EthStack, caplog) -> None:  # type: ignore[no-untyped-def]
    stack.fund("alice", 300 * ETHER)
    hot = stack.hot()
    stack.anvil.set_balance(hot, 500 * ETHER)
    too_big = stack.withdraw("alice", 101 * ETHER, destination(1), "too-big")  # signer: max 100
    after = stack.withdraw("alice", ETHER, destination(2), "after")
    # Above 50 ETH the signer's policy wants one operator approval as well; give it.
    from tests.support.keys import approval
    stack.api.operator.post(f"/v1/withdrawals/{too_big}/approvals",
                            approval(_intent(stack, too_big)))

    stack.round()
    report = stack.sign()
    assert report.refused == 1
    assert stack.withdrawal(too_big)["failure_code"] == "signer_refused:limit_per_withdrawal"
    assert stack.balance("alice")[1] == ETHER + 1000  # only `after` is held now

    with caplog.at_level("ERROR"):
        stack.round()  # broadcasts `after` (nonce 1) and fills the gap at nonce 0
    assert any("nonce gap" in r.getMessage() for r in caplog.records)
    assert nonces(stack, hot) == [(0, "sweep", "unsigned"), (0, "withdrawal", "rejected"),
                                  (1, "withdrawal", "broadcast")]
    stack.sign()
    stack.round()
    stack.anvil.mine(2)
    stack.round()
    assert stack.withdrawal(after)["state"] == "confirmed"
    assert stack.anvil.nonce(hot) == 2
    assert stack.anvil.balance(destination(2)) == ETHER


def _intent(stack: EthStack, wid: str):  # type: ignore[no-untyped-def]
    from custody.contract.withdrawals import WithdrawalIntent

    return WithdrawalIntent.model_validate(stack.withdrawal(wid)["intent"])
