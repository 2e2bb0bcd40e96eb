"""Standard eth_* JSON-RPC over httpx: batches, bounded retries, errors translated at the edge.

Only methods of the Ethereum execution API are used, so geth, erigon, reth and anvil serve it.
"""

import json
import logging
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import httpx

from custody.chains.ethereum_tx import encode_balance_of, from_hex, to_hex
from custody.watcher.chains.ethereum_settings import EthereumNodeConfig
from custody.watcher.errors import NodeError, NodeUnavailable, SettingsError

log = logging.getLogger(__name__)

Call = tuple[str, Sequence[Any]]
Json = dict[str, Any]


def quantity(value: object, what: str = "quantity") -> int:
    """A JSON-RPC QUANTITY (0x-prefixed hex, no leading zeros) as an int."""
    if not isinstance(value, str) or not value.startswith("0x") or len(value) < 3:
        raise NodeUnavailable(f"the node sent {what} {value!r}, not a hex quantity")
    try:
        return int(value, 16)
    except ValueError as e:
        raise NodeUnavailable(f"the node sent {what} {value!r}, not a hex quantity") from e


class EthRpc:
    """Calls one node. Transport failures and non-JSON answers are retried with backoff a
    bounded number of times, then raised as NodeUnavailable; an error answer is raised at
    once as NodeError with the node's code and message."""

    def __init__(
        self,
        config: EthereumNodeConfig,
        *,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.config = config
        self._http = httpx.Client(timeout=config.rpc_timeout, transport=transport)
        self._sleep = sleep
        self._ids = 0

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def call(self, method: str, *params: Any) -> Any:
        """One call; its result, or NodeError."""
        answer = self._post(method, self._request(method, params))
        if not isinstance(answer, dict):
            raise NodeUnavailable(f"{method}: the node answered something that is not JSON-RPC")
        return _result(method, answer)

    def batch(self, calls: Sequence[Call]) -> list[Any]:
        """Many calls in one HTTP request; each result is a value or a NodeError (not raised)."""
        if not calls:
            return []
        requests = [self._request(method, params) for method, params in calls]
        answers = self._post(f"{calls[0][0]} (batch of {len(calls)})", requests)
        if not isinstance(answers, list):
            raise NodeUnavailable("the node answered a batch with something else than a list")
        by_id = {a.get("id"): a for a in answers if isinstance(a, dict)}
        out: list[Any] = []
        for (method, _), request in zip(calls, requests, strict=True):
            try:
                out.append(_result(method, by_id.get(request["id"], {})))
            except NodeError as e:
                out.append(e)
        return out

    def batch_strict(self, calls: Sequence[Call]) -> list[Any]:
        """A batch whose every call must succeed: the first error is raised."""
        results = self.batch(calls)
        for result in results:
            if isinstance(result, NodeError):
                raise result
        return results

    def _request(self, method: str, params: Sequence[Any]) -> Json:
        self._ids += 1
        return {"jsonrpc": "2.0", "id": self._ids, "method": method, "params": list(params)}

    def _post(self, what: str, body: Any) -> Any:
        content = json.dumps(body).encode()
        problem = "no attempt made"
        for attempt in range(self.config.rpc_retries):
            if attempt:
                delay = self.config.rpc_backoff * 2 ** (attempt - 1)
                log.warning("node %s: %s; retry %d in %.2fs", what, problem, attempt, delay)
                self._sleep(delay)
            auth = self._auth()
            try:
                response = self._http.post(
                    self.config.url,
                    content=content,
                    headers={"Content-Type": "application/json"},
                    auth=httpx.USE_CLIENT_DEFAULT if auth is None else auth,
                )
            except httpx.TransportError as e:
                problem = f"{type(e).__name__} reaching {self.config.url}"
                continue
            try:
                return json.loads(response.content)
            except ValueError:
                problem = f"HTTP {response.status_code} without a JSON-RPC body"
        raise NodeUnavailable(f"node {what}: {problem} (after {self.config.rpc_retries} tries)")

    def _auth(self) -> tuple[str, str] | None:
        try:
            return self.config.credentials()
        except SettingsError as e:
            raise NodeUnavailable(str(e)) from e


def _result(method: str, answer: Json) -> Any:
    error = answer.get("error")
    if error:
        code = error.get("code", 0) if isinstance(error, dict) else 0
        message = error.get("message", str(error)) if isinstance(error, dict) else str(error)
        raise NodeError(method, int(code), str(message))
    if "result" not in answer:
        raise NodeError(method, 0, "the answer has neither result nor error")
    return answer["result"]


class EthereumNode:
    """The node as the watcher uses it: typed answers of the few calls it needs."""

    def __init__(self, rpc: EthRpc, batch_size: int):
        self.rpc = rpc
        self.batch_size = batch_size

    def _chunks(self, calls: Sequence[Call]) -> list[Any]:
        out: list[Any] = []
        for at in range(0, len(calls), self.batch_size):
            out += self.rpc.batch(calls[at : at + self.batch_size])
        return out

    def chain_id(self) -> int:
        """eth_chainId."""
        return quantity(self.rpc.call("eth_chainId"), "chain id")

    def head(self) -> int:
        """The number of the latest block."""
        return quantity(self.rpc.call("eth_blockNumber"), "block number")

    def blocks(self, numbers: Sequence[int], full: bool) -> list[Json | None]:
        """Blocks by number (None where the node has none), with full transactions or hashes."""
        calls: list[Call] = [("eth_getBlockByNumber", [hex(n), full]) for n in numbers]
        return [_strict(r) for r in self._chunks(calls)]

    def logs(self, start: int, end: int, contract: str, topic: str) -> list[Json]:
        """Logs of `contract` with first topic `topic` in blocks start..end."""
        query = {
            "fromBlock": hex(start),
            "toBlock": hex(end),
            "address": contract,
            "topics": [topic],
        }
        result = self.rpc.call("eth_getLogs", query)
        if not isinstance(result, list):
            raise NodeUnavailable("eth_getLogs answered something that is not a list")
        return result

    def receipts(self, txids: Iterable[str]) -> dict[str, Json | None]:
        """Receipts by transaction hash (None: not mined, or unknown)."""
        ids = sorted(set(txids))
        calls: list[Call] = [("eth_getTransactionReceipt", [t]) for t in ids]
        return dict(zip(ids, (_strict(r) for r in self._chunks(calls)), strict=True))

    def transactions(self, txids: Iterable[str]) -> dict[str, Json | None]:
        """Transactions by hash as the node knows them, mined or pending (None: unknown)."""
        ids = sorted(set(txids))
        calls: list[Call] = [("eth_getTransactionByHash", [t]) for t in ids]
        return dict(zip(ids, (_strict(r) for r in self._chunks(calls)), strict=True))

    def nonce(self, address: str, block: str = "latest") -> int:
        """How many transactions `address` has sent as of `block`: its next nonce."""
        return quantity(self.rpc.call("eth_getTransactionCount", address, block), "nonce")

    def balances(self, addresses: Sequence[str], block: str = "latest") -> dict[str, int]:
        """Wei balances."""
        calls: list[Call] = [("eth_getBalance", [a, block]) for a in addresses]
        return {
            a: quantity(_strict(r), "balance")
            for a, r in zip(addresses, self._chunks(calls), strict=True)
        }

    def token_balances(self, contract: str, owners: Sequence[str]) -> dict[str, int]:
        """ERC-20 balanceOf of each owner, by eth_call."""
        calls: list[Call] = [
            (
                "eth_call",
                [
                    {
                        "to": contract,
                        "data": to_hex(encode_balance_of(from_hex(o.lower(), "owner"))),
                    },
                    "latest",
                ],
            )
            for o in owners
        ]
        out = {}
        for owner, result in zip(owners, self._chunks(calls), strict=True):
            raw = from_hex(_strict(result), "balanceOf result")
            if len(raw) != 32:
                raise NodeUnavailable(f"balanceOf({owner}) answered {len(raw)} bytes, not 32")
            out[owner] = int.from_bytes(raw, "big")
        return out

    def has_code(self, address: str) -> bool:
        """True for a contract (a smart wallet needs more gas than a plain transfer)."""
        return bool(from_hex(self.rpc.call("eth_getCode", address, "latest"), "code"))

    def estimate_gas(self, sender: str, to: str, value: int, data: bytes) -> int:
        """eth_estimateGas of a call."""
        query = {"from": sender, "to": to, "value": hex(value), "data": to_hex(data)}
        return quantity(self.rpc.call("eth_estimateGas", query), "gas estimate")

    def fee_history(self, blocks: int, percentile: int) -> tuple[int, list[int]]:
        """(base fee of the next block, tips paid at `percentile` in the last blocks)."""
        answer = self.rpc.call("eth_feeHistory", hex(blocks), "latest", [percentile])
        if not isinstance(answer, dict) or not answer.get("baseFeePerGas"):
            raise NodeUnavailable("eth_feeHistory answered without baseFeePerGas")
        rewards = [quantity(r[0], "reward") for r in answer.get("reward") or [] if r]
        return quantity(answer["baseFeePerGas"][-1], "base fee"), rewards

    def send_raw(self, signed_hex: str) -> str:
        """eth_sendRawTransaction; the hash the node gives back."""
        result = self.rpc.call("eth_sendRawTransaction", "0x" + signed_hex.removeprefix("0x"))
        return str(result).lower()


def _strict(result: Any) -> Any:
    if isinstance(result, NodeError):
        raise result
    return result
