"""HTTP JSON-RPC on 127.0.0.1, shaped like nano_node's RPC server, and an in-process starter."""

from __future__ import annotations

import functools
import json
import sys
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from testnodes.nano import control, crypto, errors, rpc_accounts, rpc_blocks, rpc_work
from testnodes.nano.args import Request
from testnodes.nano.confirm import advance
from testnodes.nano.errors import RpcError
from testnodes.nano.state import DEV_GENESIS_KEY, MAX_SUPPLY, PeerState, new_state

HOST = "127.0.0.1"
Handler = Callable[[PeerState, Request], dict[str, Any]]
HANDLERS: dict[str, Handler] = {
    **rpc_blocks.HANDLERS,
    **rpc_accounts.HANDLERS,
    **rpc_work.HANDLERS,
    **control.HANDLERS,
}
# Pure computations that may take a while: they run outside the ledger lock.
UNLOCKED = frozenset({"work_generate", "work_validate"})


def answer(state: PeerState, body: bytes) -> tuple[dict[str, Any], bool]:
    """(JSON answer, drop the reply?) for one request body."""
    try:
        request = json.loads(body)
        action = request["action"] if isinstance(request, dict) else None
    except (ValueError, KeyError):
        action = None
    if not isinstance(action, str):
        return {"error": errors.UNPARSABLE}, False
    handler = HANDLERS.get(action)
    if handler is None:
        return {"error": errors.UNKNOWN_COMMAND}, False
    result = _run(state, handler, action, request)
    with state.lock:
        drop = state.faults.take_drop(action)
    return result, drop


def _run(state: PeerState, handler: Handler, action: str, request: Request) -> dict[str, Any]:
    try:
        if action in UNLOCKED:
            return handler(state, request)
        with state.lock:
            # Confirmations advance lazily: what a client can observe only changes on a call.
            advance(state.ledger, state.policy)
            return handler(state, request)
    except RpcError as e:
        return {"error": e.message}
    except Exception:  # noqa: BLE001 - a peer bug must reach the test, not kill the thread
        state.internal_errors.append(traceback.format_exc())
        print(state.internal_errors[-1], file=sys.stderr)
        return {"error": "Internal server error in RPC"}


class _RpcHandler(BaseHTTPRequestHandler):
    server: _RpcServer
    protocol_version = "HTTP/1.1"  # keep-alive, like the node's beast server
    # Headers and body go out in two writes; without this, delayed ACKs add ~40 ms a call.
    disable_nagle_algorithm = True

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        result, drop = answer(self.server.state, self.rfile.read(length))
        if drop:
            self.close_connection = True  # the client sees the connection close, no answer
            return
        data = json.dumps(result).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # quiet: tests read answers, not access logs


class _RpcServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, port: int, state: PeerState) -> None:
        self.state = state
        super().__init__((HOST, port), _RpcHandler)


@dataclass
class RunningPeer:
    """A peer serving in a background thread; `stop()` also fails on any internal error."""

    state: PeerState
    host: str
    port: int
    _server: _RpcServer
    _thread: threading.Thread

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
        if self.state.internal_errors:
            raise AssertionError("peer internal errors:\n" + "\n".join(self.state.internal_errors))

    def __enter__(self) -> RunningPeer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def make_server(port: int, state: PeerState) -> _RpcServer:
    """A bound server, not yet serving (port 0 picks a free port)."""
    return _RpcServer(port, state)


def start_peer(
    port: int = 0,
    confirm_delay: float = 0.0,
    genesis_balance: int = MAX_SUPPLY,
    thresholds: crypto.Thresholds = crypto.DEV,
    genesis_key: bytes = DEV_GENESIS_KEY,
) -> RunningPeer:
    """Start a peer in this process on 127.0.0.1; a free port unless `port` is given."""
    state = new_state(genesis_balance, confirm_delay, thresholds, genesis_key)
    server = make_server(port, state)
    # A short poll interval: stop() waits for it, and tests stop a peer each.
    serve = functools.partial(server.serve_forever, poll_interval=0.02)
    thread = threading.Thread(target=serve, name="nano-peer", daemon=True)
    thread.start()
    return RunningPeer(state, HOST, server.server_address[1], server, thread)
