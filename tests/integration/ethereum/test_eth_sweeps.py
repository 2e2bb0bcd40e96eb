"""Sweeps move credited deposits to the hot wallets; a token sweep first gets gas topped up.

Alice deposits 5 ETH and Carol 100 TKN; both are credited. The ETH watcher sweeps Alice's
address to the ETH hot wallet: the balance minus the most the gas can cost, signed under the
sweep rule (it may only pay the hot wallet). Carol's token address holds no ETH for gas, so the
TKN watcher has its hot wallet (which holds ETH for fees) top it up first. The signer's answer
to that first top-up is lost: it is refused. The sweep does not wait for it: the next round
tries again with a higher fee, that top-up confirms, and only then the token transfer to the
TKN hot wallet is built, signed, mined and confirmed.
"""

from pathlib import Path

from tests.integration.ethereum.stack import TKN, build_stack
from tests.support.anvil import ETHER, GWEI


def test_eth_and_token_sweeps_with_gas_top_up(tmp_path: Path, sqlite_template: Path) -> None:
    with build_stack(tmp_path, sqlite_template, topup_retry_after=0) as stack:
        alice, carol = stack.address("alice"), stack.address("carol", "TKN")
        hot, token_hot = stack.hot("ETH"), stack.hot("TKN")
        stack.anvil.set_balance(token_hot, ETHER)  # the token's hot wallet pays gas in ETH

        # ETH: the round that credits the deposit builds its sweep; signed, mined, confirmed.
        stack.fund("alice", 5 * ETHER)
        [sweep] = stack.templates("ETH")
        assert (sweep["kind"], sweep["withdrawals"]) == ("sweep", [])
        assert stack.sign().signed == 1
        assert stack.round("ETH").count("broadcast") == 1
        stack.anvil.mine(2)
        assert stack.round("ETH").count("confirm_withdrawals") == 1
        assert stack.templates("ETH")[0]["status"] == "confirmed"
        assert stack.anvil.balance(alice) <= 21_000 * 100 * GWEI  # dust of the gas reserve
        assert stack.anvil.balance(hot) > 5 * ETHER - 21_000 * 100 * GWEI
        assert stack.round("ETH").count("build_sweeps") == 0  # nothing left worth sweeping

        # TKN: a top-up first; the first one is refused.
        stack.fund("carol", 100 * TKN, "TKN")
        [topup] = stack.templates("TKN")
        assert topup["kind"] == "topup"
        refused = {"code": "eth_topup_over_cap", "reason": "test: the signer said no"}
        r = stack.api.signer.post(f"/v1/templates/{topup['id']}/rejection", refused)
        assert r.status_code == 200, r.text
        assert stack.round("TKN").count("build_sweeps") == 1  # tried again, not waited for
        retry = stack.templates("TKN", "unsigned")[0]
        assert retry["kind"] == "topup" and retry["payload"] != topup["payload"]
        stack.sign()
        stack.round("TKN")
        assert stack.anvil.balance(carol) > 0
        stack.anvil.mine(3)
        stack.round("TKN")  # the top-up confirms
        assert stack.templates("TKN", "confirmed")[0]["kind"] == "topup"

        # Now the token transfer itself.
        stack.round("TKN")
        [transfer] = stack.templates("TKN", "unsigned")
        assert transfer["kind"] == "sweep"
        stack.sign()
        stack.round("TKN")
        stack.anvil.mine(3)
        stack.round("TKN")
        assert stack.anvil.token_balance(stack.token, token_hot) == 100 * TKN
        assert stack.anvil.token_balance(stack.token, carol) == 0
        kinds = sorted((t["kind"], t["status"]) for t in stack.templates("TKN"))
        assert kinds == [("sweep", "confirmed"), ("topup", "confirmed"), ("topup", "rejected")]
        # Sweeps move the exchange's own money: the users' balances do not change.
        assert stack.balance("carol", "TKN") == (100 * TKN, 0)
        assert stack.balance("alice") == (5 * ETHER, 0)
