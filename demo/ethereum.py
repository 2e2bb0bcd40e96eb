"""Ethereum on anvil: ETH and the test token TKN, deposits, sweeps (gas top-ups) and withdrawals."""

import secrets
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from custody.chains.ethereum import to_checksum_address
from demo.api import Withdrawal, posted
from demo.progress import say
from demo.world import Summary, World
from tests.support.anvil import ETHER, GWEI, AnvilNode

TKN = 10**6  # base units per TKN (6 decimals)
DEV_DEPOSITOR, DEV_FLOAT = 1, 2  # anvil dev accounts paying deposits and the TKN gas float


@dataclass(frozen=True)
class Currency:
    """ETH or TKN: units, rules (the coordinator's and the signer's agree) and the story."""

    code: str
    decimals: int
    confirmations: int
    fee: int  # charged per withdrawal
    auto_approve: int  # above it, one operator approves
    account: int  # the signer's BIP44 account: own addresses, hot wallet and nonces
    max_per_withdrawal: int
    deposits: dict[str, int]
    withdrawals: list[tuple[str, int]]


ETH_CURRENCY = Currency(
    "ETH", 18, 2, 10**14, ETHER, 0, 50 * ETHER,
    deposits={"eth-alice": 3 * ETHER, "eth-bob": 2 * ETHER, "eth-carol": 3 * ETHER // 2},
    withdrawals=[("eth-alice", ETHER // 2), ("eth-bob", ETHER // 4),
                 ("eth-alice", 12 * ETHER // 10), ("eth-carol", 3 * ETHER // 10)],
)
TKN_CURRENCY = Currency(
    "TKN", 6, 3, 10**4, 1000 * TKN, 1, 100_000 * TKN,
    deposits={"tkn-alice": 500 * TKN, "tkn-bob": 1500 * TKN},
    withdrawals=[("tkn-alice", 100 * TKN), ("tkn-bob", 1200 * TKN), ("tkn-alice", 50 * TKN)],
)
CURRENCIES = {c.code: c for c in (ETH_CURRENCY, TKN_CURRENCY)}

CONFIG = """[[currencies]]
code = "{c.code}"
family = "ethereum"
network = "eth-anvil"
decimals = {c.decimals}
confirmations = {c.confirmations}
withdrawal_fee = "{c.fee}"
auto_approve_limit = "{c.auto_approve}"
approval_tiers = [{{ above = "{c.auto_approve}", required = 1 }}]
{token}
[currencies.node]
url = "{url}"
start_block = {head}
max_fee_per_gas = {max_fee_per_gas}
rpc_retries = 2
rpc_backoff = 0.05
replace_after = 3600
topup_retry_after = 30
"""

POLICY = """[currencies.{c.code}]
family = "ethereum"
network = "eth-anvil"
account = {c.account}
{token}max_gas = "100000"
max_fee_rate = "{max_fee_rate}"
max_fee = "{max_fee}"
max_per_withdrawal = "{c.max_per_withdrawal}"
max_per_day = "{per_day}"

[[currencies.{c.code}.approvals]]
up_to = "{c.auto_approve}"
required = 0

[[currencies.{c.code}.approvals]]
required = 1
operators = [{operators}]
"""


def fresh_destination() -> str:
    """An address nobody has used: what arrives there came from us."""
    return to_checksum_address("0x" + secrets.token_hex(20))


class EthereumChain:
    """ETH and TKN on one anvil: config, policy, scenarios and checks."""

    def __init__(self, codes: tuple[str, ...]) -> None:
        self.codes = codes
        self.node: AnvilNode | None = None
        self.token = ""
        self.withdrawals: dict[str, list[Withdrawal]] = {code: [] for code in codes}

    @property
    def anvil(self) -> AnvilNode:
        """The running node."""
        assert self.node is not None
        return self.node

    def start(self, stack: ExitStack, workdir: Path) -> None:
        """anvil (automine), and the test token deployed by dev account 0."""
        self.node = AnvilNode()
        stack.callback(self.node.stop)  # before start: an interrupted start is cleaned up too
        self.node.start()
        say("ETH", f"anvil on port {self.anvil.port} (chain id 31337)")
        if "TKN" in self.codes:
            self.token = self.anvil.deploy_token()
            say("TKN", f"TestToken deployed at {self.token}")

    def mine_block(self) -> None:
        """One block: confirmations grow while the demo waits."""
        self.anvil.mine(1)

    # files -------------------------------------------------------------------------------------

    def token_line(self, code: str) -> str:
        """`token_contract = …` for the token, nothing for ETH."""
        return f'token_contract = "{self.token}"\n' if code == "TKN" else ""

    def config(self, workdir: Path) -> str:
        """ETH at 2 confirmations, TKN at 3; the watcher scans from the current head and pays
        at most 100 gwei per gas."""
        head = self.anvil.head()
        return "\n".join(
            CONFIG.format(c=CURRENCIES[code], token=self.token_line(code), url=self.anvil.url,
                          head=head, max_fee_per_gas=100 * GWEI)
            for code in self.codes)

    def policy(self, operators: list[str]) -> str:
        """Own BIP44 account per currency; gas caps above the watcher's (200 gwei per gas,
        0.02 ETH per transaction)."""
        ops = ", ".join(f'"{k}"' for k in operators)
        return "\n".join(
            POLICY.format(c=CURRENCIES[code], token=self.token_line(code), operators=ops,
                          max_fee_rate=200 * GWEI, max_fee=2 * 10**16,
                          per_day=10 * CURRENCIES[code].max_per_withdrawal)
            for code in self.codes)

    # the story -------------------------------------------------------------------------------

    def run(self, world: World) -> None:
        """ETH, then TKN."""
        if "ETH" in self.codes:
            self.run_eth(world)
        if "TKN" in self.codes:
            self.run_tkn(world)

    def run_eth(self, world: World) -> None:
        """Deposits credited, swept to the hot wallet, four withdrawals paid from it."""
        deposits = ETH_CURRENCY.deposits
        addresses = world.deposit_addresses("ETH", list(deposits))
        for user, amount in deposits.items():
            self.anvil.send(addresses[user], amount, sender=DEV_DEPOSITOR)
        say("ETH", f"{len(deposits)} deposits paid ({sum(deposits.values()) / ETHER} ETH) by an "
                   "anvil dev account")
        self.credited(world, "ETH", deposits)
        self.swept(world, "ETH", {addresses[u]: a for u, a in deposits.items()})
        self.pay_out(world, "ETH", ETH_CURRENCY.withdrawals)

    def run_tkn(self, world: World) -> None:
        """The TKN hot wallet gets ETH for gas; deposits credited, topped up with gas, swept;
        three withdrawals paid."""
        hot = world.hot("TKN")
        self.anvil.send(hot, ETHER, sender=DEV_FLOAT)
        say("TKN", f"TKN hot wallet {hot[:10]}… funded with 1 ETH for gas (the exchange's float)")
        deposits = TKN_CURRENCY.deposits
        addresses = world.deposit_addresses("TKN", list(deposits))
        for user, amount in deposits.items():
            self.anvil.token_transfer(self.token, addresses[user], amount)
        say("TKN", f"{len(deposits)} token deposits paid ({sum(deposits.values()) // TKN} TKN) "
                   "by the deployer")
        self.credited(world, "TKN", deposits)
        self.swept(world, "TKN", {addresses[u]: a for u, a in deposits.items()})
        self.pay_out(world, "TKN", TKN_CURRENCY.withdrawals)

    def credited(self, world: World, code: str, deposits: dict[str, int]) -> None:
        """Wait (mining) until every deposit is on its user's balance."""
        world.wait(f"{code} deposits credited", lambda: all(
            world.api.balance(u, code)[0] == a for u, a in deposits.items()),
            tick=self.mine_block, interval=0.3)
        say(code, f"{len(deposits)} deposits credited")

    def swept(self, world: World, code: str, deposits: dict[str, int]) -> None:
        """Wait (mining) until the sweeps are confirmed and the deposit addresses emptied (ETH
        leaves the dust of its gas reserve behind)."""
        holds = self.balance_of(code)

        def kinds() -> dict[str, int]:
            counts: dict[str, int] = {}
            for t in world.api.templates(code, "confirmed"):
                counts[t["kind"]] = counts.get(t["kind"], 0) + 1
            return counts

        def done() -> bool:
            emptied = all(holds(a) < amount for a, amount in deposits.items())
            return emptied and kinds().get("sweep", 0) >= len(deposits)

        world.wait(f"{code} sweeps confirmed", done, tick=self.mine_block, interval=0.3)
        topups = kinds().get("topup", 0)
        extra = f" after {topups} gas top-up(s) from the hot wallet" if topups else ""
        say(code, f"{len(deposits)} deposit addresses swept to the hot wallet{extra}")

    def pay_out(self, world: World, code: str, plan: list[tuple[str, int]]) -> None:
        """Request the withdrawals (approved where needed) and wait (mining) until confirmed."""
        done = self.withdrawals[code]
        for n, (user, amount) in enumerate(plan):
            done.append(world.api.withdraw(user, code, amount, fresh_destination(),
                                           f"{code.lower()}-w{n}"))
        say(code, posted(done))
        world.wait(f"{code} withdrawals confirmed",
                   lambda: world.api.wait_state(done, "confirmed"),
                   timeout=90, tick=self.mine_block, interval=0.3)
        say(code, f"{len(done)} withdrawals confirmed, one transaction each from the hot wallet")

    # the checks -------------------------------------------------------------------------------

    def summary(self, world: World) -> dict[str, Summary]:
        """Counts from the API; payments and holdings from the node."""
        out = {}
        for code in self.codes:
            out[code] = Summary(
                deposits_credited=len(world.api.deposits(code, "credited")),
                withdrawals_confirmed=len(world.api.withdrawals(code, "confirmed")),
                double_payments=self.double_payments(code),
                ledger_matches_chain=self.ledger_matches_chain(world, code),
            )
        return out

    def balance_of(self, code: str) -> Callable[[str], int]:
        """What an address holds of `code`: wei, or token units."""
        if code == "ETH":
            return self.anvil.balance
        return lambda address: self.anvil.token_balance(self.token, address)

    def double_payments(self, code: str) -> int:
        """Fresh destinations holding more than their withdrawals asked."""
        asked: dict[str, int] = {}
        for w in self.withdrawals[code]:
            asked[w.destination] = asked.get(w.destination, 0) + w.amount
        holds = self.balance_of(code)
        return sum(1 for d, amount in asked.items() if holds(d) > amount)

    def gas_paid(self, world: World, code: str) -> int:
        """Wei our mined transactions of `code` paid for gas (receipts of their txids)."""
        total = 0
        for t in world.api.templates(code):
            receipt: dict[str, Any] | None = self.anvil.receipt(t["txid"]) if t["txid"] else None
            if receipt is not None:
                total += int(receipt["gasUsed"], 16) * int(receipt["effectiveGasPrice"], 16)
        return total

    def ledger_matches_chain(self, world: World, code: str) -> bool:
        """ETH: our addresses' balances + gas we paid = users + fees charged. TKN: our
        addresses' token balances = users + fees (its gas is paid in ETH by its hot wallet)."""
        holds = self.balance_of(code)
        on_chain = sum(holds(a["address"]) for a in world.api.pool(code))
        gas = self.gas_paid(world, code)
        users = world.api.users_total(list(CURRENCIES[code].deposits), code)
        fees = world.api.fees_charged(code)
        if code == "ETH":
            say(code, f"our addresses hold {on_chain} wei, gas paid {gas}; "
                      f"ledger: users {users} + fees {fees} = {users + fees}")
            return on_chain + gas == users + fees
        say(code, f"our addresses hold {on_chain} units; ledger: users {users} + fees {fees} = "
                  f"{users + fees} (gas: {gas} wei of ETH, from the TKN hot wallet)")
        return on_chain == users + fees
