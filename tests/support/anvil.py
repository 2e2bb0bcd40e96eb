"""A real anvil node for tests: own process, free port, JSON-RPC, dev accounts, the test token.

The binary comes from the npm package that scripts/setup-anvil.sh installs into .tools/anvil
(or CUSTODY_ANVIL). Never skipped: a missing binary is a failure that says to run the setup.
"""

import json
import os
import socket
import subprocess
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx
from eth_account import Account

from custody.chains.ethereum import to_checksum_address
from custody.chains.ethereum_tx import address_bytes, encode_transfer, to_hex
from tests.support.wait import wait_until

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_BINARY = ROOT / ".tools/anvil/node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil"
TOKEN = json.loads((ROOT / "contracts" / "TestToken.json").read_text())
CHAIN_ID = 31337
ETHER = 10**18
GWEI = 10**9
# anvil's default accounts (mnemonic "test test ... junk"): funded with 10000 ETH, unlocked.
DEV_KEYS = [
    "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
    "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
    "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
]
DEV = [Account.from_key(k).address for k in DEV_KEYS]


class RpcError(Exception):
    """A JSON-RPC error answer."""

    def __init__(self, code: int, message: str):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


def binary() -> Path:
    """The anvil binary; fails with the setup hint when it is missing."""
    path = Path(os.environ.get("CUSTODY_ANVIL", DEFAULT_BINARY))
    if not path.exists():
        raise RuntimeError(f"anvil is not installed at {path}: run `make setup` "
                           "(scripts/setup-anvil.sh)")
    return path


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class AnvilNode:
    """anvil on 127.0.0.1 with chain id 31337; automine unless told otherwise."""

    def __init__(self, *extra: str) -> None:
        self.port = free_port()
        self.extra = extra
        self._process: subprocess.Popen[bytes] | None = None
        self._http = httpx.Client(timeout=30.0)

    @property
    def url(self) -> str:
        """The JSON-RPC URL."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "AnvilNode":
        """Start anvil and wait until it answers."""
        self._process = subprocess.Popen(
            [str(binary()), "--host", "127.0.0.1", "--port", str(self.port),
             "--chain-id", str(CHAIN_ID), "--accounts", "3", "--silent", *self.extra],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )
        wait_until(self._ready, timeout=30)
        return self

    def _ready(self) -> bool:
        assert self._process is not None
        if self._process.poll() is not None:
            err = self._process.stderr.read().decode() if self._process.stderr else ""
            raise RuntimeError(f"anvil exited with {self._process.returncode}: {err}")
        try:
            self.rpc("eth_chainId")
        except httpx.TransportError:
            return False
        return True

    def rpc(self, method: str, *params: Any) -> Any:
        """Call `method`; RpcError with the node's code and message."""
        body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)}
        answer = self._http.post(self.url, json=body).json()
        if answer.get("error"):
            raise RpcError(answer["error"].get("code", 0), answer["error"].get("message", ""))
        return answer["result"]

    def batch(self, calls: list[tuple[str, list[Any]]]) -> list[Any]:
        """Many calls in one request; results in order (errors raised)."""
        body = [{"jsonrpc": "2.0", "id": i, "method": m, "params": p}
                for i, (m, p) in enumerate(calls)]
        answers = {a["id"]: a for a in self._http.post(self.url, json=body).json()}
        out = []
        for i in range(len(calls)):
            if answers[i].get("error"):
                raise RpcError(answers[i]["error"].get("code", 0), answers[i]["error"]["message"])
            out.append(answers[i]["result"])
        return out

    # the chain -------------------------------------------------------------------------------

    def head(self) -> int:
        """The latest block number."""
        return int(self.rpc("eth_blockNumber"), 16)

    def mine(self, blocks: int = 1) -> None:
        """Mine `blocks` blocks now."""
        self.rpc("anvil_mine", hex(blocks))

    def automine(self, on: bool) -> None:
        """Mine each transaction at once (on), or only when told (off)."""
        self.rpc("evm_setAutomine", on)

    def reorg(self, depth: int, txs: list[tuple[str, int]] | None = None) -> None:
        """Replace the last `depth` blocks; `txs` are (raw signed tx, block offset) to include."""
        self.rpc("anvil_reorg", depth, [list(t) for t in txs or []])

    def block_hash(self, number: int) -> str:
        """The hash of block `number`."""
        return str(self.rpc("eth_getBlockByNumber", hex(number), False)["hash"])

    def balance(self, address: str) -> int:
        """Wei at the latest block."""
        return int(self.rpc("eth_getBalance", address, "latest"), 16)

    def set_balance(self, address: str, wei: int) -> None:
        """Give `address` exactly `wei` (anvil_setBalance)."""
        self.rpc("anvil_setBalance", address, hex(wei))

    def nonce(self, address: str) -> int:
        """Mined transaction count."""
        return int(self.rpc("eth_getTransactionCount", address, "latest"), 16)

    def receipt(self, txid: str) -> dict[str, Any] | None:
        """The receipt, or None."""
        result: dict[str, Any] | None = self.rpc("eth_getTransactionReceipt", txid)
        return result

    def transaction(self, txid: str) -> dict[str, Any] | None:
        """The transaction as the node knows it, or None."""
        result: dict[str, Any] | None = self.rpc("eth_getTransactionByHash", txid)
        return result

    def send(self, to: str, value: int = 0, data: bytes = b"", sender: int = 0,
             gas: int | None = None) -> str:
        """A dev account sends a transaction (eth_sendTransaction); returns its hash."""
        tx: dict[str, Any] = {"from": DEV[sender], "to": to, "value": hex(value),
                              "data": to_hex(data)}
        if gas is not None:
            tx["gas"] = hex(gas)
        return str(self.rpc("eth_sendTransaction", tx))

    def signed(self, to: str, value: int, nonce: int, sender: int = 0, data: bytes = b"",
               gas: int = 21_000, max_fee: int = 10 * GWEI) -> tuple[str, str]:
        """A dev account's signed EIP-1559 transaction: (raw hex, hash), not sent."""
        tx = {"type": 2, "chainId": CHAIN_ID, "nonce": nonce, "to": to, "value": value,
              "data": data, "gas": gas, "maxFeePerGas": max_fee, "maxPriorityFeePerGas": GWEI}
        signed = Account.sign_transaction(tx, DEV_KEYS[sender])
        return "0x" + signed.raw_transaction.hex(), "0x" + signed.hash.hex()

    # the test token ----------------------------------------------------------------------------

    def deploy_token(self, supply: int = 10**15, sender: int = 0) -> str:
        """Deploy TestToken (mints `supply` to the deployer); returns its EIP-55 address."""
        constructor = supply.to_bytes(32, "big")
        tx = {"from": DEV[sender], "data": TOKEN["bytecode"] + constructor.hex(),
              "gas": hex(2_000_000)}
        txid = self.rpc("eth_sendTransaction", tx)
        if self.receipt(txid) is None:
            self.mine()
        receipt = self.receipt(txid)
        assert receipt is not None and receipt["status"] == "0x1", receipt
        return to_checksum_address(str(receipt["contractAddress"]))

    def token_transfer(self, token: str, to: str, amount: int, sender: int = 0) -> str:
        """A dev account transfers tokens; returns the hash."""
        data = encode_transfer(address_bytes(to), amount)
        return self.send(token, 0, data, sender, gas=100_000)

    def token_balance(self, token: str, owner: str) -> int:
        """balanceOf(owner)."""
        data = "0x70a08231" + "00" * 12 + owner[2:].lower()
        return int(self.rpc("eth_call", {"to": token, "data": data}, "latest"), 16)

    def stop(self) -> None:
        """Stop anvil."""
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(timeout=10)
        if self._process is not None and self._process.stderr is not None:
            self._process.stderr.close()
        self._http.close()

    def __enter__(self) -> "AnvilNode":
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
