"""ETH and token deposits are found in blocks and logs, follow their depth, and are credited once.

The signer fills both pools (five deposit addresses and a hot wallet each). Alice and Bob get
ETH addresses and Carol a TKN address. Two ETH payments and one token transfer are mined; the
watchers report them pending with one confirmation, and credit each when it is as deep as its
currency asks (ETH 2, TKN 3). A payment to a hot wallet and ETH sent to a token's deposit
address are no deposits. A restarted watcher reports nothing twice: every deposit is credited
exactly once.
"""

from tests.integration.ethereum.stack import TKN, EthStack
from tests.support.anvil import ETHER


def test_eth_and_token_deposits_are_credited_once(stack: EthStack) -> None:
    alice, bob = stack.address("alice"), stack.address("bob")
    carol = stack.address("carol", "TKN")
    assert alice != carol  # ETH and the token have their own accounts

    stack.anvil.automine(False)
    first = stack.anvil.send(alice, 3 * ETHER, sender=1)
    second = stack.anvil.send(bob, ETHER // 2, sender=2)
    token = stack.anvil.token_transfer(stack.token, carol, 250 * TKN)
    # Not deposits: ETH to a hot wallet, and ETH to the token's deposit address.
    stack.anvil.send(stack.hot(), ETHER, sender=1)
    stack.anvil.send(carol, ETHER, sender=1)
    assert stack.round("ETH").count("discover_deposits") == 0  # in the mempool: no block yet

    # One block: all three reported, pending, one confirmation deep.
    stack.anvil.mine(1)
    assert stack.round("ETH").count("discover_deposits") == 2
    assert stack.round("TKN").count("discover_deposits") == 1
    eth = {d["txid"]: d for d in stack.deposits("ETH")}
    assert set(eth) == {first, second}
    assert {(d["state"], d["confirmations"]) for d in eth.values()} == {("pending", 1)}
    [tkn] = stack.deposits("TKN")
    assert (tkn["txid"], tkn["output_index"], tkn["amount"]) == (token, 0, str(250 * TKN))
    assert (tkn["state"], tkn["address"]) == ("pending", carol)
    assert stack.balance("alice") == (0, 0)

    # Depth per currency: at two blocks ETH is credited, the token (three) is not yet.
    stack.anvil.mine(1)
    stack.round("ETH")
    stack.round("TKN")
    assert {d["state"] for d in stack.deposits("ETH")} == {"credited"}
    assert stack.deposits("TKN")[0]["state"] == "pending"
    stack.anvil.mine(1)
    stack.round("TKN")
    assert stack.deposits("TKN")[0]["state"] == "credited"
    assert stack.balance("alice") == (3 * ETHER, 0)
    assert stack.balance("bob") == (ETHER // 2, 0)
    assert stack.balance("carol", "TKN") == (250 * TKN, 0)

    # New watcher processes: nothing is reported twice, nothing is credited twice.
    stack.restart_watcher("ETH")
    stack.restart_watcher("TKN")
    stack.anvil.mine(2)
    assert stack.round("ETH").count("discover_deposits") == 0
    assert stack.round("TKN").count("discover_deposits") == 0
    for code in ("ETH", "TKN"):
        assert all(d["credit_count"] == 1 for d in stack.deposits(code))
    assert stack.balance("alice") == (3 * ETHER, 0)
