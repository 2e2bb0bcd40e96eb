"""The Nano node's RPC over httpx: `{"action": ...}` requests, typed answers, errors translated.

Answers follow the node's JSON: every number is a string and an empty child is `""` (boost's
ptree), so `{"blocks": ""}`, `[]` and `{}` all mean "nothing". An `{"error": text}` answer is a
NodeError carrying the node's exact text; transport failures are retried with backoff a bounded
number of times, then NodeUnavailable. Retrying `process` is safe: the bytes are the same.
"""

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx

from custody.chains import nano as chain
from custody.watcher.chains.nano_settings import NanoNodeConfig
from custody.watcher.errors import NodeError, NodeUnavailable

log = logging.getLogger(__name__)

T = TypeVar("T")

ACCOUNT_NOT_FOUND = "Account not found"
BLOCK_NOT_FOUND = "Block not found"


@dataclass(frozen=True)
class AccountInfo:
    """One account_info answer: frontier, balance and representative belong together."""

    frontier: bytes
    open_block: bytes
    balance: int
    representative: bytes
    confirmed_frontier: bytes
    block_count: int


@dataclass(frozen=True)
class BlockInfo:
    """One block_info answer (json_block)."""

    block: chain.StateBlock
    height: int
    confirmed: bool
    successor: bytes
    subtype: str


@dataclass(frozen=True)
class Receivable:
    """A confirmed send waiting to be received by one of our accounts."""

    send: bytes
    amount: int
    source: bytes


def _empty(value: Any) -> bool:
    return value in ("", [], {}, None)


class NanoRpc:
    """Calls one node (and, for work, maybe a work server)."""

    def __init__(
        self,
        config: NanoNodeConfig,
        *,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.config = config
        self._http = httpx.Client(timeout=config.rpc_timeout, transport=transport)
        self._sleep = sleep

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def call(
        self, action: str, *, url: str | None = None, timeout: float | None = None, **args: Any
    ) -> dict[str, Any]:
        """One action; NodeError with the node's text for an error answer."""
        answer = self._post(url or self.config.url, {"action": action, **args}, timeout)
        error = answer.get("error")
        if error is not None:
            raise NodeError(action, 0, str(error))
        return answer

    def _post(self, url: str, body: dict[str, Any], timeout: float | None) -> dict[str, Any]:
        action, problem = body["action"], "no attempt made"
        for attempt in range(self.config.rpc_retries):
            if attempt:
                delay = self.config.rpc_backoff * 2 ** (attempt - 1)
                log.warning("node %s: %s; retry %d in %.1fs", action, problem, attempt, delay)
                self._sleep(delay)
            try:
                response = self._http.post(url, json=body, timeout=timeout)
            except httpx.TransportError as e:
                problem = f"{type(e).__name__} reaching {url}"
                continue
            try:
                answer = response.json()
            except ValueError:
                problem = f"HTTP {response.status_code} without a JSON body"
                continue
            if isinstance(answer, dict):
                return answer
            problem = "an answer that is not a JSON object"
        raise NodeUnavailable(f"node {action}: {problem} (after {self.config.rpc_retries} tries)")

    def account_info(self, account: bytes) -> AccountInfo | None:
        """Frontier, balance, representative of ONE call; None for an unopened account."""
        try:
            a = self.call(
                "account_info",
                account=chain.encode_account(account),
                representative="true",
                include_confirmed="true",
            )
        except NodeError as e:
            if e.message == ACCOUNT_NOT_FOUND:
                return None
            raise
        return _parsed(
            "account_info",
            lambda: AccountInfo(
                frontier=bytes.fromhex(a["frontier"]),
                open_block=bytes.fromhex(a["open_block"]),
                balance=int(a["balance"]),
                representative=chain.decode_account(a["representative"]),
                confirmed_frontier=bytes.fromhex(a["confirmed_frontier"]),
                block_count=int(a["block_count"]),
            ),
        )

    def block_info(self, block_hash: bytes) -> BlockInfo | None:
        """The block, its height and whether it is confirmed; None if the node has no such block."""
        try:
            b = self.call("block_info", hash=block_hash.hex().upper(), json_block="true")
        except NodeError as e:
            if e.message == BLOCK_NOT_FOUND:
                return None
            raise
        return _parsed(
            "block_info",
            lambda: BlockInfo(
                block=chain.block_from_json(b["contents"], signed=True),
                height=int(b["height"]),
                confirmed=b["confirmed"] == "true",
                successor=bytes.fromhex(b["successor"]),
                subtype=str(b["subtype"]),
            ),
        )

    def accounts_receivable(self, accounts: Sequence[bytes]) -> dict[bytes, list[Receivable]]:
        """Confirmed sends (the default since V22) waiting for each account, with amount and
        source; accounts with nothing are left out."""
        if not accounts:
            return {}
        answer = self.call(
            "accounts_receivable",
            accounts=[chain.encode_account(a) for a in accounts],
            count=str(self.config.receivable_count),
            source="true",
            include_only_confirmed="true",
        )
        blocks: Any = answer.get("blocks")
        if _empty(blocks):
            return {}
        return _parsed(
            "accounts_receivable",
            lambda: {
                chain.decode_account(account): _receivables(sends)
                for account, sends in blocks.items()
                if not _empty(sends)
            },
        )

    def process(self, block: chain.StateBlock, subtype: str) -> bytes:
        """Publish a signed block with work; the hash the node answers."""
        answer = self.call("process", json_block="true", subtype=subtype, block=block.to_json())
        return _parsed("process", lambda: bytes.fromhex(answer["hash"]))

    def work_generate(self, root: bytes, difficulty: int) -> int:
        """Work over `root` reaching `difficulty`, from the work server or the node."""
        answer = self.call(
            "work_generate",
            url=self.config.work_url,
            timeout=self.config.work_timeout,
            hash=root.hex().upper(),
            difficulty=chain.work_hex(difficulty),
        )
        work = _parsed("work_generate", lambda: int(answer["work"], 16))
        if chain.work_value(work, root) < difficulty:
            raise NodeError("work_generate", 0, "the work answered is below the difficulty asked")
        return work


def _receivables(sends: Any) -> list[Receivable]:
    return [
        Receivable(bytes.fromhex(h), int(d["amount"]), chain.decode_account(d["source"]))
        for h, d in sends.items()
    ]


def _parsed(action: str, build: Callable[[], T]) -> T:
    """Build a typed answer; a malformed one means a node we cannot work with."""
    try:
        return build()
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        raise NodeUnavailable(f"node {action}: unexpected answer ({type(e).__name__}: {e})") from e
