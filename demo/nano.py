"""Nano through the test peer: deposits pocketed and swept to the hot account, five withdrawals."""

import os
import secrets
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx

from custody.chains.nano import encode_account
from demo.api import Withdrawal, posted
from demo.processes import DemoError, Process, python
from demo.progress import say
from demo.world import Summary, World

XNO = 10**30  # raw per XNO
FEE = 10**24  # raw per withdrawal (0.000001 XNO)
DEPOSITS = {"xno-alice": 5 * XNO, "xno-bob": 2 * XNO + 123}
# The last is above 1 XNO: one operator approves it.
WITHDRAWALS = [("xno-alice", XNO // 10), ("xno-bob", XNO // 5), ("xno-alice", 3 * XNO // 10),
               ("xno-bob", 2 * XNO // 5), ("xno-alice", 2 * XNO)]


def fresh_account() -> str:
    """An account of nobody we know (a random public key)."""
    return encode_account(secrets.token_bytes(32))


class NanoChain:
    """XNO on the Nano test peer (a separate process): config, policy, scenario and checks."""

    codes: tuple[str, ...] = ("XNO",)

    def __init__(self) -> None:
        self.url = ""
        self.http = httpx.Client(timeout=30.0)
        # Receives, opens and changes name it; watcher and signer must agree on it.
        self.representative = fresh_account()
        self.withdrawals: list[Withdrawal] = []

    def start(self, stack: ExitStack, workdir: Path) -> None:
        """`python -m testnodes.nano --port 0`; its one line says where it listens."""
        stack.callback(self.http.close)
        peer = Process("nano peer", python("testnodes.nano", "--port", "0"), dict(os.environ),
                       workdir / "nano-peer.log").start(stack)
        where = peer.wait_for_line("listening on ").removeprefix("listening on ")
        self.url = f"http://{where.strip()}"
        say("XNO", f"Nano test peer listening on {where.strip()} (pid {peer.pid})")

    def rpc(self, action: str, **params: Any) -> dict[str, Any]:
        """One node action at the peer."""
        answer: dict[str, Any] = self.http.post(self.url, json={"action": action, **params}).json()
        return answer

    def config(self, workdir: Path) -> str:
        """Confirmation is final on Nano: 1. The peer generates the work (dev thresholds)."""
        return f"""[[currencies]]
code = "XNO"
family = "nano"
network = "nano-dev"
decimals = 30
confirmations = 1
withdrawal_fee = "{FEE}"
auto_approve_limit = "{XNO}"
approval_tiers = [{{ above = "{XNO}", required = 1 }}]

[currencies.node]
url = "{self.url}"
representative = "{self.representative}"
rpc_timeout = 10
rpc_retries = 2
rpc_backoff = 0.05
"""

    def policy(self, operators: list[str]) -> str:
        """No fees on Nano; the same representative and tiers as the coordinator's."""
        ops = ", ".join(f'"{k}"' for k in operators)
        return f"""[currencies.XNO]
family = "nano"
network = "nano-dev"
representative = "{self.representative}"
max_fee = "0"
max_fee_rate = "0"
max_per_withdrawal = "{1000 * XNO}"
max_per_day = "{10_000 * XNO}"

[[currencies.XNO.approvals]]
up_to = "{XNO}"
required = 0

[[currencies.XNO.approvals]]
required = 1
operators = [{ops}]
"""

    def run(self, world: World) -> None:
        """Two deposits (peer_fund), pocketed and swept; five withdrawals confirmed."""
        addresses = world.deposit_addresses("XNO", list(DEPOSITS))
        for user, amount in DEPOSITS.items():
            answer = self.rpc("peer_fund", account=addresses[user], amount=str(amount))
            if "hash" not in answer:
                raise DemoError(f"peer_fund failed: {answer}")
        say("XNO", f"{len(DEPOSITS)} deposits sent by the peer's genesis account")
        world.wait("XNO deposits credited", lambda: all(
            world.api.balance(u, "XNO")[0] == a for u, a in DEPOSITS.items()))
        say("XNO", f"{len(DEPOSITS)} deposits credited")
        hot = world.hot("XNO")
        total = sum(DEPOSITS.values())
        world.wait("XNO deposits pocketed and swept to the hot account",
                   lambda: self.confirmed_balance(hot) == total)
        say("XNO", f"deposits pocketed (open blocks) and swept to hot account {hot[:14]}…")
        for n, (user, amount) in enumerate(WITHDRAWALS):
            self.withdrawals.append(
                world.api.withdraw(user, "XNO", amount, fresh_account(), f"xno-w{n}"))
        say("XNO", posted(self.withdrawals))
        world.wait("XNO withdrawals confirmed",
                   lambda: world.api.wait_state(self.withdrawals, "confirmed"), timeout=90)
        say("XNO", f"{len(self.withdrawals)} withdrawals confirmed, one send block each")

    def confirmed_balance(self, account: str) -> int:
        """The account's confirmed balance at the peer (0 before it is opened)."""
        info = self.rpc("account_info", account=account, include_confirmed=True)
        return int(info.get("confirmed_balance", 0))

    def receivable(self, account: str) -> int:
        """Raw sent to the account and not yet received, confirmed or not."""
        answer = self.rpc("receivable", account=account, threshold="1",
                          include_only_confirmed=False)
        blocks = answer.get("blocks", "")
        return 0 if blocks == "" else sum(int(a) for a in blocks.values())

    def holds(self, account: str) -> int:
        """Balance plus receivable."""
        info = self.rpc("account_info", account=account)
        return int(info.get("balance", 0)) + self.receivable(account)

    def summary(self, world: World) -> dict[str, Summary]:
        """Counts from the API; payments and holdings from the peer."""
        asked: dict[str, int] = {}
        for w in self.withdrawals:
            asked[w.destination] = asked.get(w.destination, 0) + w.amount
        doubles = sum(1 for d, amount in asked.items() if self.holds(d) > amount)
        on_chain = sum(self.holds(a["address"]) for a in world.api.pool("XNO"))
        users = world.api.users_total(list(DEPOSITS), "XNO")
        fees = world.api.fees_charged("XNO")
        say("XNO", f"our accounts hold {on_chain} raw; ledger: users {users} + fees {fees} = "
                   f"{users + fees}")
        return {"XNO": Summary(
            deposits_credited=len(world.api.deposits("XNO", "credited")),
            withdrawals_confirmed=len(world.api.withdrawals("XNO", "confirmed")),
            double_payments=doubles,
            ledger_matches_chain=on_chain == users + fees,
        )}
