"""Litecoin (regtest): deposits credited at 3 confirmations, withdrawals batched in PSBTs."""

from contextlib import ExitStack
from decimal import Decimal
from pathlib import Path
from typing import Any

from custody.contract.amounts import to_decimal_string
from demo.api import Withdrawal, posted
from demo.progress import say
from demo.world import Summary, World, write_private
from tests.support.litecoind import LitecoinNode, RpcError

LTC = 100_000_000  # litoshi per LTC
FEE = 10_000  # the coordinator's withdrawal fee, litoshi
WALLET = "custody-demo"  # the watcher's watch-only wallet
DEPOSITS = {"ltc-alice": 250_000_000, "ltc-bob": 120_000_000, "ltc-carol": 300_000_000,
            "ltc-dave": 80_000_000, "ltc-erin": 1_500_000_000}
# (user, amount): above 1 LTC one operator approves, above 10 LTC two.
WITHDRAWALS = [("ltc-alice", 30_000_000), ("ltc-bob", 25_000_000), ("ltc-carol", 150_000_000),
               ("ltc-dave", 40_000_000), ("ltc-alice", 10_000_000), ("ltc-carol", 60_000_000),
               ("ltc-erin", 1_200_000_000)]


class DemoNode(LitecoinNode):
    """The tests' regtest node, with what the watcher's node table needs."""

    @property
    def url(self) -> str:
        """The RPC base URL."""
        return f"http://127.0.0.1:{self.rpc_port}"

    @property
    def user(self) -> str:
        """The RPC user."""
        return self._auth[0]

    @property
    def password(self) -> str:
        """The RPC password (goes into a 0600 file, never into the config)."""
        return self._auth[1]


    def mine_block(self) -> None:
        """One block to the miner wallet: the world goes on while the demo waits."""
        self.mine(1)


def litoshi(value: Any) -> int:
    """Base units of an RPC amount (a JSON number of LTC)."""
    return int(Decimal(str(value)) * LTC)


class LitecoinChain:
    """LTC on a fresh regtest node: config, policy, scenario and checks."""

    codes: tuple[str, ...] = ("LTC",)

    def __init__(self) -> None:
        self.node: DemoNode | None = None
        self.withdrawals: list[Withdrawal] = []

    @property
    def rpc(self) -> DemoNode:
        """The running node."""
        assert self.node is not None
        return self.node

    def start(self, stack: ExitStack, workdir: Path) -> None:
        """litecoind -regtest, a miner wallet and 101 blocks (one mature coinbase)."""
        self.node = DemoNode()
        stack.callback(self.node.stop)  # before start: an interrupted start is cleaned up too
        self.node.start()
        self.rpc.create_wallet("miner")
        self.rpc.mine(101)
        say("LTC", f"litecoind regtest on port {self.rpc.rpc_port}, 101 blocks mined")

    def config(self, workdir: Path) -> str:
        """3 confirmations; above 1 LTC one operator, above 10 LTC two."""
        password = write_private(workdir / "litecoind.password", self.rpc.password)
        return f"""[[currencies]]
code = "LTC"
family = "bitcoin"
network = "ltc-regtest"
decimals = 8
confirmations = 3
withdrawal_fee = {FEE}
auto_approve_limit = "{LTC}"
approval_tiers = [{{ above = "{LTC}", required = 1 }}, {{ above = "{10 * LTC}", required = 2 }}]

[currencies.node]
url = "{self.rpc.url}"
user = "{self.rpc.user}"
password_file = "{password}"
wallet = "{WALLET}"
fee_floor = 1
fee_cap = 20
fallback_fee = 2
rpc_retries = 3
rpc_backoff = 0.1
"""

    def policy(self, operators: list[str]) -> str:
        """The same tiers as the coordinator's, fee caps above the watcher's."""
        ops = ", ".join(f'"{k}"' for k in operators)
        return f"""[currencies.LTC]
family = "bitcoin"
network = "ltc-regtest"
max_fee = "2000000"
max_fee_rate = "50"
max_per_withdrawal = "{50 * LTC}"
max_per_day = "{200 * LTC}"

[[currencies.LTC.approvals]]
up_to = "{LTC}"
required = 0

[[currencies.LTC.approvals]]
up_to = "{10 * LTC}"
required = 1
operators = [{ops}]

[[currencies.LTC.approvals]]
required = 2
operators = [{ops}]
"""

    def run(self, world: World) -> None:
        """Deposits paid, credited; withdrawals requested, approved, confirmed."""
        addresses = world.deposit_addresses("LTC", list(DEPOSITS))
        payments = {addresses[u]: to_decimal_string(a, 8) for u, a in DEPOSITS.items()}
        txid = self.rpc.rpc("sendmany", "", payments, wallet="miner")
        self.rpc.mine(3)
        total = to_decimal_string(sum(DEPOSITS.values()), 8)
        say("LTC", f"paid {len(DEPOSITS)} deposits ({total} LTC) in tx {txid[:16]}…, "
                   "mined 3 blocks")
        world.wait("LTC deposits credited", lambda: all(
            world.api.balance(u, "LTC")[0] == a for u, a in DEPOSITS.items()))
        say("LTC", f"{len(DEPOSITS)} deposits credited to the users' ledger accounts")
        for n, (user, amount) in enumerate(WITHDRAWALS):
            destination = str(self.rpc.rpc("getnewaddress", "", "bech32", wallet="miner"))
            self.withdrawals.append(
                world.api.withdraw(user, "LTC", amount, destination, f"ltc-w{n}"))
        say("LTC", posted(self.withdrawals))
        world.wait("LTC withdrawals confirmed",
                   lambda: world.api.wait_state(self.withdrawals, "confirmed"),
                   timeout=90, tick=self.rpc.mine_block, interval=0.3)
        txids = {t["txid"] for t in world.api.templates("LTC", "confirmed")}
        say("LTC", f"{len(self.withdrawals)} withdrawals confirmed in {len(txids)} "
                   "transaction(s) built by the watcher, signed by the signer")

    def summary(self, world: World) -> dict[str, Summary]:
        """Counts from the API; double payments and holdings from the node."""
        return {"LTC": Summary(
            deposits_credited=len(world.api.deposits("LTC", "credited")),
            withdrawals_confirmed=len(world.api.withdrawals("LTC", "confirmed")),
            double_payments=self.double_payments(),
            ledger_matches_chain=self.ledger_matches_chain(world),
        )}

    def double_payments(self) -> int:
        """Destinations the chain paid more than their withdrawals asked (the miner wallet owns
        them, so getreceivedbyaddress sees every payment, mempool included)."""
        asked: dict[str, int] = {}
        for w in self.withdrawals:
            asked[w.destination] = asked.get(w.destination, 0) + w.amount
        received = {d: litoshi(self.rpc.rpc("getreceivedbyaddress", d, 0, wallet="miner"))
                    for d in asked}
        return sum(1 for d, amount in asked.items() if received[d] > amount)

    def ledger_matches_chain(self, world: World) -> bool:
        """Our coins on the node = what users hold + fees charged − network fees we paid."""
        coins = self.rpc.rpc("listunspent", 0, 9_999_999, [], True, wallet=WALLET)
        on_chain = sum(litoshi(c["amount"]) for c in coins)
        network_fees = sum(self.network_fee(t["txid"]) for t in world.api.templates("LTC")
                           if t["txid"])
        users = world.api.users_total(list(DEPOSITS), "LTC")
        fees = world.api.fees_charged("LTC")
        matches = on_chain == users + fees - network_fees
        say("LTC", f"node holds {on_chain} litoshi; ledger: users {users} + fees {fees} "
                   f"- network fees {network_fees} = {users + fees - network_fees}")
        return matches

    def network_fee(self, txid: str) -> int:
        """The fee our transaction paid, if it is mined or in the mempool (else none)."""
        try:
            tx = self.rpc.rpc("gettransaction", txid, True, wallet=WALLET)
        except RpcError:
            return 0
        return -litoshi(tx["fee"]) if tx["confirmations"] >= 0 else 0

