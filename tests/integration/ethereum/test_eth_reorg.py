"""A reorg orphans a deposit not yet credited and reverses one that was, for ETH and the token.

With mining paused, Alice's 3 ETH is mined in one block, Bob's 1 ETH and Carol's 40 TKN in
the next: Alice's deposit is credited (ETH needs 2 confirmations), the other two are pending.
Then anvil replaces those two blocks with empty ones (anvil_reorg): every block the watchers
scanned from there on has another hash. The next
round sees a block whose parent is not the hash it kept, walks back to the fork point, and
reports the dropped deposits out of the chain: Alice's is reversed (her balance gives the 3 ETH
back), Bob's and Carol's are orphaned. Then the scan resumes from the fork point. When Alice's
very transaction is mined again, her deposit comes back and is credited once more, exactly
once; the others stay orphaned.
"""

from custody.chains.ethereum_tx import address_bytes, encode_transfer
from tests.integration.ethereum.stack import TKN, EthStack
from tests.support.anvil import ETHER


def test_reorg_orphans_and_reverses_deposits(stack: EthStack) -> None:
    alice, bob = stack.address("alice"), stack.address("bob")
    carol = stack.address("carol", "TKN")
    anvil = stack.anvil
    anvil.automine(False)
    raw_a, txid_a = anvil.signed(alice, 3 * ETHER, anvil.nonce(anvil_dev(1)), sender=1)
    raw_t, txid_t = anvil.signed(stack.token, 0, anvil.nonce(anvil_dev(0)), sender=0,
                                 data=encode_transfer(address_bytes(carol), 40 * TKN),
                                 gas=100_000)
    raw_b, txid_b = anvil.signed(bob, ETHER, anvil.nonce(anvil_dev(2)), sender=2)
    anvil.rpc("eth_sendRawTransaction", raw_a)
    anvil.mine(1)
    anvil.rpc("eth_sendRawTransaction", raw_t)
    anvil.rpc("eth_sendRawTransaction", raw_b)
    anvil.mine(1)
    stack.round("ETH")
    stack.round("TKN")
    states = {d["txid"]: d["state"] for code in ("ETH", "TKN") for d in stack.deposits(code)}
    assert states == {txid_a: "credited", txid_b: "pending", txid_t: "pending"}
    assert stack.balance("alice") == (3 * ETHER, 0)

    anvil.reorg(2)  # the two blocks with our deposits are replaced by empty ones
    anvil.mine(1)
    assert anvil.receipt(txid_a) is None and anvil.transaction(txid_a) is None
    stack.round("ETH")
    stack.round("TKN")
    states = {d["txid"]: d["state"] for code in ("ETH", "TKN") for d in stack.deposits(code)}
    assert states == {txid_a: "reversed", txid_b: "orphaned", txid_t: "orphaned"}
    assert stack.balance("alice") == (0, 0)
    assert stack.balance("carol", "TKN") == (0, 0)
    feed = stack.api.exchange.get("/v1/deposits/feed", currency="ETH").json()["events"]
    assert [e["state"] for e in feed if e["deposit"]["txid"] == txid_a] == [
        "pending", "credited", "reversed"]

    # Alice's transaction is mined again: the same deposit comes back and is credited again.
    anvil.rpc("eth_sendRawTransaction", raw_a)
    anvil.mine(2)
    stack.round("ETH")
    stack.round("TKN")
    [again] = [d for d in stack.deposits("ETH") if d["txid"] == txid_a]
    assert (again["state"], again["credit_count"]) == ("credited", 2)
    assert stack.balance("alice") == (3 * ETHER, 0)
    assert {d["state"] for d in stack.deposits("ETH") if d["txid"] == txid_b} == {"orphaned"}
    stack.round("ETH")
    assert stack.balance("alice") == (3 * ETHER, 0)


def anvil_dev(index: int) -> str:
    """Address of anvil's dev account `index`."""
    from tests.support.anvil import DEV

    return DEV[index]
