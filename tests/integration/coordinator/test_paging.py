"""Listings page by keyset: a watcher walking through more rows than one page holds sees each once."""

from typing import Any

from tests.support.api import Api


def _deposit(api: Api, address: str, i: int, confirmations: int = 1) -> None:
    report = {
        "currency": "LTC",
        "txid": f"{i:064x}",
        "output_index": 0,
        "address": address,
        "amount": "100",
        "block_hash": "bb" * 32,
        "block_height": 100,
        "confirmations": confirmations,
    }
    assert api.watcher.post("/v1/deposits", {"deposits": [report]}).status_code == 200


def _walk(api: Api, path: str, **params: Any) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []
    after = None
    while True:
        extra = {"after": after} if after else {}
        page = api.watcher.get(path, limit=3, **params, **extra).json()
        if not page:
            return seen
        seen.extend(page)
        after = page[-1]["id"]


def test_pending_deposits_walked_oldest_first_while_some_get_credited(api: Api) -> None:
    api.fill_pool(1)
    address = api.deposit_address("alice")
    for i in range(10):
        _deposit(api, address, i)
    first = api.watcher.get("/v1/deposits", state="pending", order="oldest", limit=3).json()
    # Between two pages the oldest get credited: keyset paging neither skips nor repeats.
    for i in range(3):
        _deposit(api, address, i, confirmations=6)
    rest = _walk(api, "/v1/deposits", state="pending", order="oldest")
    after_first = [d for d in rest if d["id"] not in {f["id"] for f in first}]
    assert [d["txid"] for d in first] == [f"{i:064x}" for i in range(3)]
    assert [d["txid"] for d in after_first] == [f"{i:064x}" for i in range(3, 10)]
    newest = api.watcher.get("/v1/deposits", limit=2).json()
    assert [d["txid"] for d in newest] == [f"{9:064x}", f"{8:064x}"]


def test_templates_and_addresses_page_on(api: Api) -> None:
    for i in range(7):
        r = api.watcher.post(
            "/v1/templates", {"currency": "LTC", "kind": "sweep", "payload": f"p{i}"}
        )
        assert r.status_code == 200
    walked = _walk(api, "/v1/templates", currency="LTC")
    assert [t["payload"] for t in walked] == [f"p{i}" for i in range(7)]
    pool = api.fill_pool(7)
    page = api.watcher.get("/v1/addresses", currency="LTC", limit=4).json()
    more = api.watcher.get(
        "/v1/addresses", currency="LTC", limit=4, after=page[-1]["address"]
    ).json()
    assert [a["address"] for a in page + more] == pool


def test_unknown_cursor_is_a_named_error(api: Api) -> None:
    r = api.watcher.get("/v1/deposits", after="dep_nope")
    assert (r.status_code, r.json()["error"]["field"]) == (422, "after")
    r = api.watcher.get("/v1/addresses", currency="LTC", after="rltc1qnothere")
    assert (r.status_code, r.json()["error"]["field"]) == (422, "after")
