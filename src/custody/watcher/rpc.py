"""JSON-RPC to a Bitcoin-family node over httpx: timeouts, bounded retries, errors translated."""

import json
import logging
import time
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any
from urllib.parse import quote

import httpx

from custody.watcher.errors import NodeError, NodeUnavailable, SettingsError
from custody.watcher.settings import NodeConfig

log = logging.getLogger(__name__)

# Bitcoin Core's RPC error codes the watcher branches on (src/rpc/protocol.h).
RPC_MISC_ERROR = -1
RPC_INVALID_ADDRESS_OR_KEY = -5  # also "no such transaction / block"
RPC_WALLET_ERROR = -4
RPC_WALLET_INSUFFICIENT_FUNDS = -6
RPC_INVALID_PARAMETER = -8
RPC_WALLET_NOT_FOUND = -18
RPC_VERIFY_ERROR = -25
RPC_VERIFY_REJECTED = -26
RPC_VERIFY_ALREADY_IN_CHAIN = -27
RPC_IN_WARMUP = -28
RPC_WALLET_ALREADY_LOADED = -35

Call = tuple[str, Sequence[Any]]


class NodeRpc:
    """Calls one node. Transport failures, 401 (a fresh cookie) and warm-up are retried with
    exponential backoff a bounded number of times, then raised as NodeUnavailable; an error
    answer is raised at once as NodeError with the node's own code and message."""

    def __init__(
        self,
        config: NodeConfig,
        *,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.config = config
        # No idle keep-alive connections: Core's HTTP server waits for open ones (up to
        # -rpcservertimeout, 30 s) before it can shut down, so a node restart would hang.
        self._http = httpx.Client(
            timeout=config.rpc_timeout,
            transport=transport,
            limits=httpx.Limits(max_keepalive_connections=0),
        )
        self._sleep = sleep
        self._auth: tuple[str, str] | None = None
        self._ids = 0

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def call(
        self, method: str, *params: Any, wallet: bool = False, timeout: float | None = None
    ) -> Any:
        """One call; `wallet` sends it to the watch-only wallet's endpoint."""
        answer = self._post(method, self._request(method, params), wallet, timeout)
        if not isinstance(answer, dict):
            raise NodeUnavailable(f"{method}: the node answered something that is not JSON-RPC")
        return _result(method, answer)

    def batch(self, calls: Sequence[Call], *, wallet: bool = False) -> list[Any]:
        """Many calls in one HTTP request; each result is a value or a NodeError (not raised)."""
        if not calls:
            return []
        requests = [self._request(method, params) for method, params in calls]
        answers = self._post(calls[0][0] + " (batch)", requests, wallet, None)
        if not isinstance(answers, list) or len(answers) != len(calls):
            raise NodeUnavailable("the node answered a batch with something else than a list")
        by_id = {a.get("id"): a for a in answers if isinstance(a, dict)}
        out: list[Any] = []
        for (method, _), request in zip(calls, requests, strict=True):
            try:
                out.append(_result(method, by_id.get(request["id"], {})))
            except NodeError as e:
                out.append(e)
        return out

    def _request(self, method: str, params: Sequence[Any]) -> dict[str, Any]:
        self._ids += 1
        return {"jsonrpc": "1.0", "id": self._ids, "method": method, "params": list(params)}

    def _url(self, wallet: bool) -> str:
        base = self.config.url.rstrip("/")
        return f"{base}/wallet/{quote(self.config.wallet, safe='')}" if wallet else base

    def _post(self, what: str, body: Any, wallet: bool, timeout: float | None) -> Any:
        content = json.dumps(body).encode()
        problem = "no attempt made"
        for attempt in range(self.config.rpc_retries):
            if attempt:
                delay = self.config.rpc_backoff * 2 ** (attempt - 1)
                log.warning("node %s: %s; retry %d in %.1fs", what, problem, attempt, delay)
                self._sleep(delay)
            try:
                response = self._http.post(
                    self._url(wallet),
                    content=content,
                    headers={"Content-Type": "application/json"},
                    auth=self._credentials(),
                    timeout=timeout if timeout is not None else self.config.rpc_timeout,
                )
            except httpx.TransportError as e:
                problem = f"{type(e).__name__} reaching {self.config.url}"
                continue
            answer, problem = self._interpret(response)
            if answer is not None:
                return answer
        raise NodeUnavailable(f"node {what}: {problem} (after {self.config.rpc_retries} tries)")

    def _interpret(self, response: httpx.Response) -> tuple[Any, str]:
        """(answer, "") for a JSON-RPC answer, (None, why) for a failure worth retrying."""
        if response.status_code == 401:
            self._auth = None  # the node may have restarted with a new cookie: read it again
            return None, "401 unauthorized (check user/password or cookie file)"
        if response.status_code == 403:
            return None, "403 forbidden (rpcallowip does not admit the watcher)"
        try:
            answer = json.loads(response.content, parse_float=Decimal)
        except ValueError:
            # 503 "work queue depth exceeded" and proxies answer plain text.
            return None, f"HTTP {response.status_code} without a JSON-RPC body"
        error = answer.get("error") if isinstance(answer, dict) else None
        if isinstance(error, dict) and error.get("code") == RPC_IN_WARMUP:
            return None, f"node is warming up: {error.get('message')}"
        return answer, ""

    def _credentials(self) -> tuple[str, str]:
        if self._auth is None:
            try:
                self._auth = self.config.credentials()
            except SettingsError as e:
                # The cookie file is missing while the node restarts: a node that is down.
                raise NodeUnavailable(str(e)) from e
        return self._auth


def _result(method: str, answer: dict[str, Any]) -> Any:
    error = answer.get("error")
    if error:
        code = error.get("code", 0) if isinstance(error, dict) else 0
        message = error.get("message", str(error)) if isinstance(error, dict) else str(error)
        raise NodeError(method, int(code), str(message))
    if "result" not in answer:
        raise NodeError(method, 0, "the answer has neither result nor error")
    return answer["result"]
