"""JSON-RPC to a node over httpx: timeouts, bounded retries, errors translated; Bitcoin Core's."""

import json
import logging
import time
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any, ClassVar, Generic, Protocol, TypeVar
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


class RpcConfig(Protocol):
    """What a JSON-RPC client reads of its node's settings."""

    @property
    def url(self) -> str: ...
    @property
    def rpc_timeout(self) -> float: ...
    @property
    def rpc_retries(self) -> int: ...
    @property
    def rpc_backoff(self) -> float: ...
    def credentials(self) -> tuple[str, str] | None: ...


ConfigT = TypeVar("ConfigT", bound=RpcConfig)


class JsonRpcClient(Generic[ConfigT]):
    """Calls one node in JSON-RPC `version`. Transport failures and what `_interpret` finds
    worth retrying are retried with exponential backoff a bounded number of times, then raised
    as NodeUnavailable; an error answer is raised at once as NodeError with the node's own code
    and message. Subclasses choose the URL of each call and may override the class settings."""

    version: ClassVar[str]
    _retry_log: ClassVar[str] = "node %s: %s; retry %d in %.2fs"
    _batch_label: ClassVar[str] = "{method} (batch of {count})"
    _batch_whole: ClassVar[bool] = False  # a batch answer must hold one answer per call
    _decimals: ClassVar[bool] = False  # JSON numbers with a fraction parsed as exact Decimals

    def __init__(
        self,
        config: ConfigT,
        *,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.config = config
        self._http = self._client(config, transport)
        self._sleep = sleep
        self._ids = 0

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def call(self, method: str, *params: Any) -> Any:
        """One call; its result, or NodeError."""
        return self._call(self.config.url, method, params, None)

    def batch(self, calls: Sequence[Call]) -> list[Any]:
        """Many calls in one HTTP request; each result is a value or a NodeError (not raised)."""
        return self._batch(self.config.url, calls)

    def _client(self, config: ConfigT, transport: httpx.BaseTransport | None) -> httpx.Client:
        return httpx.Client(timeout=config.rpc_timeout, transport=transport)

    def _call(self, url: str, method: str, params: Sequence[Any], timeout: float | None) -> Any:
        answer = self._post(url, method, self._request(method, params), timeout)
        if not isinstance(answer, dict):
            raise NodeUnavailable(f"{method}: the node answered something that is not JSON-RPC")
        return _result(method, answer)

    def _batch(self, url: str, calls: Sequence[Call]) -> list[Any]:
        if not calls:
            return []
        requests = [self._request(method, params) for method, params in calls]
        what = self._batch_label.format(method=calls[0][0], count=len(calls))
        answers = self._post(url, what, requests, None)
        if not isinstance(answers, list) or (self._batch_whole and len(answers) != len(calls)):
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
        return {"jsonrpc": self.version, "id": self._ids, "method": method, "params": list(params)}

    def _post(self, url: str, what: str, body: Any, timeout: float | None) -> Any:
        content = json.dumps(body).encode()
        problem = "no attempt made"
        for attempt in range(self.config.rpc_retries):
            if attempt:
                delay = self.config.rpc_backoff * 2 ** (attempt - 1)
                log.warning(self._retry_log, what, problem, attempt, delay)
                self._sleep(delay)
            auth = self._credentials()
            try:
                response = self._http.post(
                    url,
                    content=content,
                    headers={"Content-Type": "application/json"},
                    auth=httpx.USE_CLIENT_DEFAULT if auth is None else auth,
                    timeout=timeout if timeout is not None else self.config.rpc_timeout,
                )
            except httpx.TransportError as e:
                problem = f"{type(e).__name__} reaching {self.config.url}"
                continue
            answer, retry = self._interpret(response)
            if retry is None:
                return answer
            problem = retry
        raise NodeUnavailable(f"node {what}: {problem} (after {self.config.rpc_retries} tries)")

    def _interpret(self, response: httpx.Response) -> tuple[Any, str | None]:
        """(answer, None) for a JSON answer, (None, why) for a failure worth retrying."""
        try:
            answer = json.loads(response.content, parse_float=Decimal if self._decimals else None)
        except ValueError:
            # 503 "work queue depth exceeded" and proxies answer plain text.
            return None, f"HTTP {response.status_code} without a JSON-RPC body"
        return answer, None

    def _credentials(self) -> tuple[str, str] | None:
        try:
            return self.config.credentials()
        except SettingsError as e:
            # The cookie or password file is missing while the node restarts: a node that is down.
            raise NodeUnavailable(str(e)) from e


class NodeRpc(JsonRpcClient[NodeConfig]):
    """Calls one Bitcoin-family node (JSON-RPC 1.0), the watch-only wallet at its own endpoint.
    401 (a fresh cookie) and warm-up are retried too."""

    version = "1.0"
    _retry_log = "node %s: %s; retry %d in %.1fs"
    _batch_label = "{method} (batch)"
    _batch_whole = True
    _decimals = True
    _auth: tuple[str, str] | None = None

    def call(
        self, method: str, *params: Any, wallet: bool = False, timeout: float | None = None
    ) -> Any:
        """One call; `wallet` sends it to the watch-only wallet's endpoint."""
        return self._call(self._url(wallet), method, params, timeout)

    def batch(self, calls: Sequence[Call], *, wallet: bool = False) -> list[Any]:
        """Many calls in one HTTP request; each result is a value or a NodeError (not raised)."""
        return self._batch(self._url(wallet), calls)

    def _client(self, config: NodeConfig, transport: httpx.BaseTransport | None) -> httpx.Client:
        # No idle keep-alive connections: Core's HTTP server waits for open ones (up to
        # -rpcservertimeout, 30 s) before it can shut down, so a node restart would hang.
        return httpx.Client(
            timeout=config.rpc_timeout,
            transport=transport,
            limits=httpx.Limits(max_keepalive_connections=0),
        )

    def _url(self, wallet: bool) -> str:
        base = self.config.url.rstrip("/")
        return f"{base}/wallet/{quote(self.config.wallet, safe='')}" if wallet else base

    def _interpret(self, response: httpx.Response) -> tuple[Any, str | None]:
        if response.status_code == 401:
            self._auth = None  # the node may have restarted with a new cookie: read it again
            return None, "401 unauthorized (check user/password or cookie file)"
        if response.status_code == 403:
            return None, "403 forbidden (rpcallowip does not admit the watcher)"
        answer, retry = super()._interpret(response)
        if retry is not None:
            return answer, retry
        error = answer.get("error") if isinstance(answer, dict) else None
        if isinstance(error, dict) and error.get("code") == RPC_IN_WARMUP:
            return None, f"node is warming up: {error.get('message')}"
        if answer is None:
            return None, ""  # a bare JSON null is no answer: retried, with nothing to report
        return answer, None

    def _credentials(self) -> tuple[str, str] | None:
        if self._auth is None:
            self._auth = super()._credentials()
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
