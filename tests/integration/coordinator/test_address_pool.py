"""The address pool: the signer fills it, the exchange hands addresses out, the watcher imports them."""

from sqlalchemy import func, select

from custody.coordinator.db.tables import PoolAddressRow
from tests.support.api import Api
from tests.support.keys import ltc_regtest_address


def _rows(api: Api) -> int:
    with api.runtime.sessions() as s:
        return s.scalar(select(func.count()).select_from(PoolAddressRow)) or 0


def _item(i: int, **over: str) -> dict[str, str]:
    address, pub = ltc_regtest_address(i)
    item = {
        "currency": "LTC",
        "address": address,
        "public_key": pub,
        "derivation_path": f"m/84'/1'/0'/0/{i}",
        "branch": "receive",
    }
    item.update(over)
    return item


def test_batch_post_is_idempotent(api: Api) -> None:
    body = {"addresses": [_item(i) for i in range(4)]}
    first = api.signer.post("/v1/addresses", body)
    assert first.json() == {"added": 4, "existing": 0}
    again = api.signer.post("/v1/addresses", body)
    assert again.status_code == 200
    assert again.json() == {"added": 0, "existing": 4}
    assert _rows(api) == 4


def test_same_address_with_other_key_data_is_a_conflict(api: Api) -> None:
    api.signer.post("/v1/addresses", {"addresses": [_item(0)]})
    r = api.signer.post(
        "/v1/addresses", {"addresses": [_item(0, derivation_path="m/84'/1'/0'/0/9")]}
    )
    assert r.status_code == 409
    assert r.json()["error"]["code"] == "conflict"


def test_bad_batch_writes_nothing(api: Api) -> None:
    good = _item(0)
    bad = _item(1, address="ltc1qcr8te4kr609gcawutmrza0j4xv80jy8z4nqduv")  # mainnet, not regtest
    r = api.signer.post("/v1/addresses", {"addresses": [good, bad]})
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "invalid_address"
    assert r.json()["error"]["field"] == "addresses.1.address"
    assert _rows(api) == 0


def test_same_user_same_address_until_fresh(api: Api) -> None:
    api.fill_pool(3)
    first = api.deposit_address("alice")
    assert api.deposit_address("alice") == first
    assert api.deposit_address("bob") != first
    r = api.exchange.post(
        "/v1/deposit-addresses", {"user_id": "alice", "currency": "LTC", "fresh": True}, key="k1"
    )
    fresh = r.json()["address"]
    assert fresh not in (first,)
    repeat = api.exchange.post(
        "/v1/deposit-addresses", {"user_id": "alice", "currency": "LTC", "fresh": True}, key="k1"
    )
    assert repeat.json() == r.json()
    assert api.deposit_address("alice") == fresh


def test_fresh_address_needs_an_idempotency_key(api: Api) -> None:
    api.fill_pool(2)
    r = api.exchange.post(
        "/v1/deposit-addresses", {"user_id": "alice", "currency": "LTC", "fresh": True}
    )
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "idempotency_key_required"


def test_empty_pool_is_a_clear_conflict(api: Api) -> None:
    api.fill_pool(1)
    api.deposit_address("alice")
    r = api.exchange.post("/v1/deposit-addresses", {"user_id": "bob", "currency": "LTC"})
    assert r.status_code == 409
    assert r.json()["error"]["code"] == "address_pool_empty"


def test_pool_levels_and_change_reservation(api: Api) -> None:
    api.fill_pool(3)
    change = api.fill_pool(2, branch="change")
    api.deposit_address("alice")
    r = api.watcher.post("/v1/addresses/change", {"currency": "LTC"}, key="tpl-1-change")
    assert r.status_code == 200
    assert r.json()["address"] == change[0]
    again = api.watcher.post("/v1/addresses/change", {"currency": "LTC"}, key="tpl-1-change")
    assert again.json() == r.json()
    levels = {(p["currency"], p["branch"]): p for p in api.signer.get("/v1/addresses/pool").json()}
    assert levels["LTC", "receive"] == {
        "currency": "LTC",
        "branch": "receive",
        "unused": 2,
        "total": 3,
    }
    assert levels["LTC", "change"]["unused"] == 1
    unkeyed = api.watcher.post("/v1/addresses/change", {"currency": "LTC"})
    assert unkeyed.json()["error"]["code"] == "idempotency_key_required"


def test_watcher_imports_what_is_not_imported(api: Api) -> None:
    addresses = api.fill_pool(3)
    pending = api.watcher.get("/v1/addresses", currency="LTC", imported="false").json()
    assert [a["address"] for a in pending] == addresses
    r = api.watcher.post("/v1/addresses/imported", {"currency": "LTC", "addresses": addresses[:2]})
    assert r.json() == {"marked": 2}
    pending = api.watcher.get("/v1/addresses", currency="LTC", imported="false").json()
    assert [a["address"] for a in pending] == addresses[2:]
    unknown, _ = ltc_regtest_address(999)
    r = api.watcher.post("/v1/addresses/imported", {"currency": "LTC", "addresses": [unknown]})
    assert r.status_code == 409
    assert r.json()["error"]["code"] == "unknown_address"


def test_lookup_by_address_returns_path_key_and_fingerprint(api: Api) -> None:
    items = [_item(i, fingerprint="0badc0de") for i in range(3)]
    api.signer.post("/v1/addresses", {"addresses": items})
    wanted = [items[2]["address"], items[0]["address"]]
    r = api.watcher.get("/v1/addresses", currency="LTC", address=wanted)
    found = {a["address"]: a for a in r.json()}
    assert set(found) == set(wanted)
    assert found[items[2]["address"]]["derivation_path"] == "m/84'/1'/0'/0/2"
    assert found[items[2]["address"]]["fingerprint"] == "0badc0de"
