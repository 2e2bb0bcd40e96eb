"""Ethereum JSON-RPC: the standard eth_* calls the watcher makes (geth, erigon, reth, anvil)."""

from collections.abc import Iterable, Sequence
from typing import Any

from custody.chains.ethereum_tx import encode_balance_of, from_hex, to_hex
from custody.watcher.chains.ethereum_settings import EthereumNodeConfig
from custody.watcher.errors import NodeError, NodeUnavailable
from custody.watcher.rpc import Call, JsonRpcClient

Json = dict[str, Any]


def quantity(value: object, what: str = "quantity") -> int:
    """A JSON-RPC QUANTITY (0x-prefixed hex, no leading zeros) as an int."""
    if not isinstance(value, str) or not value.startswith("0x") or len(value) < 3:
        raise NodeUnavailable(f"the node sent {what} {value!r}, not a hex quantity")
    try:
        return int(value, 16)
    except ValueError as e:
        raise NodeUnavailable(f"the node sent {what} {value!r}, not a hex quantity") from e


class EthRpc(JsonRpcClient[EthereumNodeConfig]):
    """Calls one Ethereum node (JSON-RPC 2.0); credentials are read again for every request."""

    version = "2.0"

    def batch_strict(self, calls: Sequence[Call]) -> list[Any]:
        """A batch whose every call must succeed: the first error is raised."""
        results = self.batch(calls)
        for result in results:
            if isinstance(result, NodeError):
                raise result
        return results


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
