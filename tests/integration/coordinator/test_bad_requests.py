"""Malformed requests get a 4xx with a stable code naming the problem, never a 500."""

from sqlalchemy import func, select

from custody.coordinator.db.tables import DepositRow, PoolAddressRow
from tests.support.api import Api


def test_body_too_large(api: Api) -> None:
    huge = {"addresses": [{"currency": "LTC", "address": "x" * 100}] * 2000}
    r = api.signer.post("/v1/addresses", huge)
    assert r.status_code == 413
    assert r.json()["error"]["code"] == "body_too_large"


def test_body_too_large_without_content_length(api: Api) -> None:
    def chunks():  # type: ignore[no-untyped-def]
        for _ in range(100):
            yield b"x" * 1024

    r = api.client.post("/v1/addresses", content=chunks(), headers=api.signer.headers)
    assert r.status_code == 413


def test_invalid_json(api: Api) -> None:
    r = api.client.post(
        "/v1/deposits",
        content=b"{not json",
        headers={**api.watcher.headers, "Content-Type": "application/json"},
    )
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "invalid_request"


def test_unknown_route_and_method(api: Api) -> None:
    r = api.exchange.get("/v1/nothing-here")
    assert (r.status_code, r.json()["error"]["code"]) == (404, "not_found")
    r = api.client.delete("/v1/currencies", headers=api.exchange.headers)
    assert r.status_code == 405
    assert r.json()["error"]["code"] == "invalid_request"


def test_deposit_report_problems_are_named(api: Api) -> None:
    api.fill_pool(1)
    address = api.deposit_address("alice")
    base = {
        "currency": "LTC",
        "txid": "ab" * 32,
        "output_index": 0,
        "address": address,
        "amount": "5",
        "confirmations": 1,
    }
    cases = [
        ({**base, "amount": 5}, "invalid_amount", "deposits.0.amount"),
        ({**base, "amount": "5.0"}, "invalid_amount", "deposits.0.amount"),
        ({**base, "currency": "XYZ"}, "unknown_currency", "deposits.0.currency"),
        ({**base, "address": "rltc1qnotvalid"}, "invalid_address", "deposits.0.address"),
        ({**base, "output_index": -1}, "invalid_request", "deposits.0.output_index"),
        ({**base, "confirmations": 1.5}, "invalid_request", "deposits.0.confirmations"),
    ]
    for report, code, field in cases:
        r = api.watcher.post("/v1/deposits", {"deposits": [report]})
        assert r.status_code == 422, (field, r.text)
        assert (r.json()["error"]["code"], r.json()["error"]["field"]) == (code, field)
    r = api.watcher.post("/v1/deposits", {"deposits": []})
    assert r.status_code == 422
    with api.runtime.sessions() as s:
        assert s.scalar(select(func.count()).select_from(DepositRow)) == 0
        assert s.scalar(select(func.count()).select_from(PoolAddressRow)) == 1


def test_illegal_state_changes(api: Api) -> None:
    r = api.watcher.post("/v1/templates/tpl_missing/broadcast", {"txid": "ab"})
    assert (r.status_code, r.json()["error"]["code"]) == (404, "unknown_template")
    r = api.exchange.post("/v1/withdrawals/wd_missing/cancel", {"reason": ""})
    assert (r.status_code, r.json()["error"]["code"]) == (404, "unknown_withdrawal")


def test_idempotency_key_replays_and_refuses_reuse(api: Api) -> None:
    api.fill_pool(3)
    body = {"user_id": "alice", "currency": "LTC", "fresh": True}
    first = api.exchange.post("/v1/deposit-addresses", body, key="same")
    assert api.exchange.post("/v1/deposit-addresses", body, key="same").json() == first.json()
    other = api.exchange.post("/v1/deposit-addresses", {**body, "user_id": "bob"}, key="same")
    assert (other.status_code, other.json()["error"]["code"]) == (409, "idempotency_key_reused")
    # Keys belong to a caller: another token may use the same key for its own request.
    levels = api.signer.get("/v1/addresses/pool").json()
    assert levels[0]["unused"] == 2


def test_cursor_put_and_get(api: Api) -> None:
    assert api.watcher.get("/v1/cursors/LTC").status_code == 404
    r = api.watcher.put("/v1/cursors/LTC", {"cursor": "00ff"})
    assert r.json()["cursor"] == "00ff"
    assert api.watcher.put("/v1/cursors/LTC", {"cursor": "00ff"}).json() == r.json()
    assert api.watcher.get("/v1/cursors/LTC").json()["cursor"] == "00ff"
    assert (
        api.watcher.put("/v1/cursors/NOPE", {"cursor": "1"}).json()["error"]["code"]
        == "unknown_currency"
    )


def test_currencies_are_listed_without_node_settings(api: Api) -> None:
    currencies = api.exchange.get("/v1/currencies").json()
    assert [c["code"] for c in currencies] == ["LTC", "ETH"]
    assert currencies[0]["withdrawal_fee"] == "1000"
    assert "node" not in currencies[0]


def test_values_past_what_the_columns_hold_are_4xx(api: Api) -> None:
    api.fill_pool(1)
    address = api.deposit_address("u1")
    base = {
        "currency": "LTC",
        "txid": "aa" * 32,
        "output_index": 0,
        "address": address,
        "amount": "5000",
        "block_hash": "bb" * 32,
        "block_height": 100,
        "confirmations": 1,
    }
    for field, value in [
        ("output_index", 2**31),
        ("block_height", 2**31),
        ("confirmations", 2**31),
        ("block_hash", "b" * 129),
    ]:
        r = api.watcher.post("/v1/deposits", {"deposits": [{**base, field: value}]})
        assert (r.status_code, r.json()["error"]["field"]) == (422, f"deposits.0.{field}")
    long_replaces = {"currency": "LTC", "kind": "sweep", "payload": "x", "replaces": "t" * 41}
    assert api.watcher.post("/v1/templates", long_replaces).status_code == 422


def test_a_sum_past_numeric_78_is_refused_and_writes_nothing(api: Api) -> None:
    api.fill_pool(1)
    address = api.deposit_address("u1")
    answers = []
    for i in range(2):
        report = {
            "currency": "LTC",
            "txid": f"{i:02x}" * 32,
            "output_index": 0,
            "address": address,
            "amount": "9" * 78,
            "block_hash": "bb" * 32,
            "block_height": 100,
            "confirmations": 6,
        }
        answers.append(api.watcher.post("/v1/deposits", {"deposits": [report]}))
    assert answers[0].status_code == 200
    # SQLite's text column holds any size; PostgreSQL's NUMERIC(78,0) does not.
    assert answers[1].status_code in (200, 422)
    if answers[1].status_code == 422:
        assert answers[1].json()["error"]["code"] == "invalid_request"
        assert api.balance("u1") == (int("9" * 78), 0)


def test_sweep_template_naming_withdrawals_is_refused(api: Api) -> None:
    r = api.watcher.post(
        "/v1/templates",
        {"currency": "LTC", "kind": "sweep", "payload": "x", "withdrawal_ids": ["wd_1"]},
    )
    assert (r.status_code, r.json()["error"]["field"]) == (422, "withdrawal_ids")
