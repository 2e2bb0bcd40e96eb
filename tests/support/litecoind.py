"""A real Litecoin Core regtest node for tests: own datadir, free ports, JSON-RPC, clean stop."""

import secrets
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx

from tests.support.wait import wait_until

BINARY = "litecoind"


class RpcError(Exception):
    """A JSON-RPC error answer: code and message as the node gave them."""

    def __init__(self, code: int, message: str):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LitecoinNode:
    """litecoind -regtest in a temporary datadir. Never skipped: a missing binary is a failure."""

    def __init__(self, *, mempool_replacement: bool = False) -> None:
        """`mempool_replacement`: accept BIP125 fee bumps (Litecoin Core's default is off)."""
        self.mempool_replacement = mempool_replacement
        binary = shutil.which(BINARY)
        if binary is None:
            raise RuntimeError(f"{BINARY} is not installed: run `make setup`")
        self.binary = binary
        self.datadir = Path(tempfile.mkdtemp(prefix="custody-ltc-"))
        self.rpc_port = free_port()
        self.p2p_port = free_port()
        self._auth = ("test", secrets.token_hex(16))
        self._process: subprocess.Popen[bytes] | None = None
        self._http = httpx.Client(timeout=60.0, auth=self._auth)

    def start(self) -> "LitecoinNode":
        """Start the node and wait until its RPC answers."""
        conf = self.datadir / "litecoin.conf"
        conf.write_text(
            "regtest=1\nserver=1\nlisten=0\ndnsseed=0\nupnp=0\nprinttoconsole=0\n"
            "fallbackfee=0.0001\n"
            f"mempoolreplacement={int(self.mempool_replacement)}\n"
            f"[regtest]\nrpcport={self.rpc_port}\nport={self.p2p_port}\nrpcbind=127.0.0.1\n"
            f"rpcallowip=127.0.0.1\nrpcuser={self._auth[0]}\nrpcpassword={self._auth[1]}\n"
        )
        self._process = subprocess.Popen(
            [self.binary, f"-datadir={self.datadir}", f"-conf={conf}"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            # Its own session: a Ctrl-C meant for the tests or the demo must not reach the node
            # before stop() asks it to shut down cleanly.
            start_new_session=True,
        )
        wait_until(self._ready, timeout=60)
        return self

    def _ready(self) -> bool:
        assert self._process is not None
        if self._process.poll() is not None:
            err = self._process.stderr.read().decode() if self._process.stderr else ""
            raise RuntimeError(f"litecoind exited with {self._process.returncode}: {err}")
        try:
            self.rpc("getblockchaininfo")
        except (httpx.TransportError, RpcError):
            return False  # not listening yet, or still warming up (-28)
        return True

    def rpc(self, method: str, *params: Any, wallet: str | None = None) -> Any:
        """Call `method`; raises RpcError with the node's code and message."""
        path = f"/wallet/{wallet}" if wallet is not None else "/"
        body = {"jsonrpc": "1.0", "id": method, "method": method, "params": list(params)}
        response = self._http.post(f"http://127.0.0.1:{self.rpc_port}{path}", json=body)
        if response.status_code == 401:
            raise RpcError(401, "unauthorized")
        answer = response.json()
        if answer.get("error"):
            raise RpcError(answer["error"]["code"], answer["error"]["message"])
        return answer["result"]

    def create_wallet(self, name: str, *, watch_only: bool = False) -> str:
        """A legacy wallet (this build has no descriptor wallets); watch-only has no keys."""
        self.rpc("createwallet", name, watch_only, watch_only)
        return name

    def mine(self, blocks: int = 1, wallet: str = "miner") -> list[str]:
        """Mine `blocks` blocks to a fresh address of `wallet`."""
        address = self.rpc("getnewaddress", "", "bech32", wallet=wallet)
        hashes: list[str] = self.rpc("generatetoaddress", blocks, address)
        return hashes

    def stop(self) -> None:
        """Stop the node, wait for it, and remove its datadir."""
        if self._process is not None and self._process.poll() is None:
            try:
                self.rpc("stop")
                self._process.wait(timeout=60)
            except (httpx.HTTPError, RpcError, ValueError, subprocess.TimeoutExpired):
                # ValueError: a node already shutting down may answer with a body that is not
                # JSON. Whatever it said, make sure it is gone.
                self._process.kill()
                self._process.wait(timeout=10)
        if self._process is not None and self._process.stderr is not None:
            self._process.stderr.close()
        self._http.close()
        shutil.rmtree(self.datadir, ignore_errors=True)

    def __enter__(self) -> "LitecoinNode":
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
