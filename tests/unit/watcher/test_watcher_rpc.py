"""The node client: retries with backoff, error translation, batches, exact amounts, cookies."""

import json
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from custody.watcher.errors import NodeError, NodeUnavailable
from custody.watcher.rpc import NodeRpc
from custody.watcher.settings import NodeConfig


def _config(**overrides: object) -> NodeConfig:
    values: dict[str, object] = {
        "url": "http://node:9332",
        "user": "u",
        "password": "p",
        "wallet": "watch",
        "rpc_retries": 3,
        "rpc_backoff": 0.5,
    }
    values.update(overrides)
    return NodeConfig.model_validate(values)


def _answer(result: object = None, error: object = None, status: int = 200) -> httpx.Response:
    body = {"result": result, "error": error, "id": 1}
    return httpx.Response(status, content=json.dumps(body).encode())


class Node:
    """Answers from a script of responses (or exceptions), recording each request."""

    def __init__(self, *script: httpx.Response | Exception):
        self.script = list(script)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        step = self.script.pop(0)
        if isinstance(step, Exception):
            raise step
        return step


def _rpc(node: Node, sleeps: list[float] | None = None, **config: object) -> NodeRpc:
    pauses = sleeps if sleeps is not None else []
    return NodeRpc(_config(**config), transport=httpx.MockTransport(node), sleep=pauses.append)


def test_a_result_comes_back_with_exact_decimals() -> None:
    node = Node(httpx.Response(200, content=b'{"result": {"amount": 0.1}, "error": null, "id": 1}'))
    assert _rpc(node).call("getbalance") == {"amount": Decimal("0.1")}
    request = node.requests[0]
    assert request.url == "http://node:9332"
    assert json.loads(request.content)["method"] == "getbalance"
    assert request.headers["authorization"].startswith("Basic ")


def test_wallet_calls_go_to_the_wallet_endpoint() -> None:
    node = Node(_answer([]))
    _rpc(node, wallet="custody.watch-1").call("listunspent", wallet=True)
    assert node.requests[0].url.path == "/wallet/custody.watch-1"


def test_an_error_answer_is_a_node_error_at_once() -> None:
    # Core answers RPC errors with HTTP 500 and a JSON body.
    node = Node(
        _answer(error={"code": -27, "message": "Transaction already in block chain"}, status=500)
    )
    with pytest.raises(NodeError) as caught:
        _rpc(node).call("sendrawtransaction", "00")
    assert (caught.value.code, caught.value.message) == (-27, "Transaction already in block chain")
    assert caught.value.method == "sendrawtransaction"
    assert len(node.requests) == 1  # an answer is never retried


def test_a_node_that_is_down_is_retried_with_backoff_then_reported() -> None:
    down = httpx.ConnectError("refused")
    sleeps: list[float] = []
    node = Node(down, down, down)
    with pytest.raises(NodeUnavailable, match=r"ConnectError.*after 3 tries"):
        _rpc(node, sleeps).call("getblockchaininfo")
    assert sleeps == [0.5, 1.0]


def test_a_node_that_comes_back_answers_the_retry() -> None:
    node = Node(httpx.ReadTimeout("lost"), _answer("ok"))
    assert _rpc(node).call("getblockcount") == "ok"


def test_warming_up_and_a_busy_queue_are_retried() -> None:
    node = Node(
        _answer(error={"code": -28, "message": "Loading block index..."}, status=500),
        httpx.Response(503, content=b"Work queue depth exceeded"),
        _answer(7),
    )
    assert _rpc(node).call("getblockcount") == 7


def test_a_wrong_password_is_reported_as_unavailable() -> None:
    node = Node(httpx.Response(401), httpx.Response(401), httpx.Response(401))
    with pytest.raises(NodeUnavailable, match="401"):
        _rpc(node).call("getblockcount")


def test_the_cookie_is_read_again_after_a_401(tmp_path: Path) -> None:
    cookie = tmp_path / ".cookie"
    cookie.write_text("__cookie__:old")
    node = Node(httpx.Response(401), _answer(1))
    rpc = NodeRpc(
        _config(user=None, password=None, cookie_file=cookie),
        transport=httpx.MockTransport(lambda r: (cookie.write_text("__cookie__:new"), node(r))[1]),
        sleep=lambda _: None,
    )
    assert rpc.call("getblockcount") == 1
    first, second = (r.headers["authorization"] for r in node.requests)
    assert first != second


def test_a_missing_cookie_is_a_node_that_is_down(tmp_path: Path) -> None:
    rpc = NodeRpc(_config(user=None, password=None, cookie_file=tmp_path / "none"))
    with pytest.raises(NodeUnavailable, match="cookie file"):
        rpc.call("getblockcount")


def test_a_batch_returns_each_result_or_its_error() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        calls = json.loads(request.content)
        body = [
            {"id": calls[0]["id"], "result": {"confirmations": 2}, "error": None},
            {"id": calls[1]["id"], "result": None, "error": {"code": -5, "message": "no tx"}},
        ]
        return httpx.Response(200, content=json.dumps(list(reversed(body))).encode())

    rpc = NodeRpc(_config(), transport=httpx.MockTransport(answer))
    ok, missing = rpc.batch([("gettransaction", ["aa"]), ("gettransaction", ["bb"])])
    assert ok == {"confirmations": 2}
    assert isinstance(missing, NodeError) and missing.code == -5
    assert rpc.batch([]) == []
