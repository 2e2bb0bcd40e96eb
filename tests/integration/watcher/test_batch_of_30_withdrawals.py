"""Thirty approved withdrawals leave in one transaction, each paid exactly once.

Ten users deposit 1 LTC each; each asks for three withdrawals of 0.1 LTC to outside addresses
(below the auto-approval limit). One watcher round builds ONE template: a PSBT funded by the
node from the watched coins, thirty payee outputs plus change to a reserved pool change
address, inputs locked, every input and the change carrying the signer's key origin. The
signer checks and signs it; the next round broadcasts it; three blocks later the coordinator
settles every withdrawal. Each destination received its amount once, every user's balance is
1 - 3 x (0.1 + fee), and the wallet's remaining coins are the deposits minus what was paid
minus the network fee.
"""

from decimal import Decimal

import pytest

from tests.integration.watcher.stack import LTC, Stack

pytestmark = pytest.mark.litecoind

AMOUNT = LTC // 10
FEE = 1000  # the test config's withdrawal fee


def test_thirty_withdrawals_in_one_transaction(stack: Stack) -> None:
    users = [f"user{i}" for i in range(10)]
    stack.fund_users(users, LTC)
    payees: dict[str, str] = {}
    for n in range(30):
        destination = stack.outside_address()
        payees[stack.withdraw(users[n % 10], AMOUNT, destination, f"req-{n}")] = destination

    assert stack.round().count("build_withdrawals") == 30
    [template] = stack.templates()
    assert template["status"] == "unsigned"
    assert sorted(w["id"] for w in template["withdrawals"]) == sorted(payees)
    decoded = stack.node.rpc("decodepsbt", template["payload"])
    assert decoded["tx"]["txid"] == template["txid"]
    assert len(decoded["tx"]["vout"]) == 31  # thirty payees and the change
    locked = stack.node.rpc("listlockunspent", wallet=stack.watched.node.wallet)
    assert {(i["txid"], i["vout"]) for i in decoded["tx"]["vin"]} == {
        (o["txid"], o["vout"]) for o in locked
    }

    assert stack.sign() == 1
    assert stack.round().count("broadcast") == 1
    assert template["txid"] in stack.node.rpc("getrawmempool")
    stack.mine(3)
    assert stack.round().count("confirm_withdrawals") == 1

    assert {stack.withdrawal(w)["state"] for w in payees} == {"confirmed"}
    for destination in payees.values():
        assert stack.received_by(destination) == AMOUNT
    for user in users:
        assert stack.balance(user) == (LTC - 3 * (AMOUNT + FEE), 0)

    # The node's view of our coins: deposits minus payments minus the network fee.
    wallet = stack.watched.node.wallet
    tx = stack.node.rpc("gettransaction", template["txid"], True, wallet=wallet)
    network_fee = -int(Decimal(str(tx["fee"])) * LTC)
    coins = stack.node.rpc("listunspent", 0, 9999999, [], True, wallet=wallet)
    assert sum(int(Decimal(str(c["amount"])) * LTC) for c in coins) == (
        10 * LTC - 30 * AMOUNT - network_fee
    )
    assert stack.node.rpc("listlockunspent", wallet=wallet) == []
