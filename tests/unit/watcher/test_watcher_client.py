"""The coordinator client: typed answers, errors by status, chunked lookups, keys only where needed."""

import json

import httpx
import pytest

from custody.contract.deposits import DepositReport
from custody.watcher.client import LOOKUP_CHUNK, CoordinatorClient
from custody.watcher.errors import CoordinatorError, CoordinatorUnavailable


def _client(handler: object) -> CoordinatorClient:
    return CoordinatorClient(
        "http://coordinator/",
        "tok",
        transport=httpx.MockTransport(handler),  # type: ignore[arg-type]
    )


def _error(status: int, code: str, field: str | None = None) -> httpx.Response:
    body = {"error": {"code": code, "message": "no", "field": field}}
    return httpx.Response(status, content=json.dumps(body).encode())


def _address(address: str) -> dict[str, object]:
    return {
        "currency": "LTC",
        "address": address,
        "public_key": "02" + "11" * 32,
        "derivation_path": "m/84'/1'/0'/0/0",
        "fingerprint": "73c5da0a",
        "branch": "receive",
        "imported": True,
    }


def test_a_refusal_carries_status_code_and_field() -> None:
    client = _client(lambda r: _error(409, "unknown_address", "deposits.2"))
    report = DepositReport(
        currency="LTC", txid="aa" * 32, output_index=0, address="x", amount=1, confirmations=0
    )
    with pytest.raises(CoordinatorError) as caught:
        client.report_deposits([report])
    assert (caught.value.status, caught.value.code, caught.value.field) == (
        409,
        "unknown_address",
        "deposits.2",
    )


@pytest.mark.parametrize("failure", [httpx.ConnectError("down"), httpx.ReadTimeout("slow")])
def test_an_unreachable_coordinator_is_unavailable(failure: Exception) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise failure

    with pytest.raises(CoordinatorUnavailable, match="unreachable"):
        _client(handler).currencies()


def test_a_server_error_or_a_strange_answer_is_unavailable() -> None:
    with pytest.raises(CoordinatorUnavailable, match="HTTP 502"):
        _client(lambda r: httpx.Response(502)).currencies()
    with pytest.raises(CoordinatorUnavailable, match="unexpected answer"):
        _client(lambda r: httpx.Response(200, content=b'{"not": "a list"}')).currencies()


def test_no_cursor_yet_is_none() -> None:
    assert _client(lambda r: _error(404, "not_found", "currency")).cursor("LTC") is None
    with pytest.raises(CoordinatorError):
        _client(lambda r: _error(401, "unauthenticated")).cursor("LTC")


def test_lookups_are_chunked_to_keep_the_url_short() -> None:
    seen: list[list[str]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        named = request.url.params.get_list("address")
        seen.append(named)
        return httpx.Response(200, content=json.dumps([_address(a) for a in named]).encode())

    wanted = [f"addr{i:04d}" for i in range(2 * LOOKUP_CHUNK + 5)]
    found = _client(handler).lookup("LTC", wanted + wanted[:3])
    assert sorted(e.address for e in found) == wanted
    assert [len(s) for s in seen] == [LOOKUP_CHUNK, LOOKUP_CHUNK, 5]


def test_only_the_change_reservation_carries_an_idempotency_key() -> None:
    keys: dict[str, str | None] = {}

    def handler(request: httpx.Request) -> httpx.Response:
        keys[request.url.path] = request.headers.get("idempotency-key")
        if request.url.path.endswith("/change"):
            return httpx.Response(200, content=json.dumps(_address("c")).encode())
        return httpx.Response(200, content=b'{"marked": 1}')

    client = _client(handler)
    assert client.reserve_change("LTC", "watcher:LTC:change:abc").address == "c"
    client.mark_imported("LTC", ["a"])
    assert keys == {
        "/v1/addresses/change": "watcher:LTC:change:abc",
        "/v1/addresses/imported": None,
    }


def test_bearer_token_and_cursor_put() -> None:
    requests: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        return httpx.Response(
            200, content=b'{"currency": "LTC", "cursor": "x", "updated_at": "2024-01-01T00:00:00Z"}'
        )

    _client(handler).put_cursor("LTC", '{"v": 1}')
    [put] = requests
    assert put.method == "PUT" and put.headers["authorization"] == "Bearer tok"
    assert json.loads(put.content) == {"cursor": '{"v": 1}'}
