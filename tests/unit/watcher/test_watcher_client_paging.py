"""The coordinator client walks every page of a listing (keyset `after=`), against a real server."""

import json
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest

from custody.contract.deposits import DepositState
from custody.contract.templates import Template, TemplateKind, TemplateStatus
from custody.coordinator.auth import Role
from custody.watcher.client import CoordinatorClient
from custody.watcher.errors import CoordinatorUnavailable
from tests.support.api import Api
from tests.support.server import serve


@pytest.fixture
def client(api: Api) -> Iterator[CoordinatorClient]:
    with serve(api.runtime) as url:
        client = CoordinatorClient(url, api.tokens[Role.WATCHER])
        yield client
        client.close()


def _deposit(api: Api, address: str, i: int) -> None:
    report = {
        "currency": "LTC",
        "txid": f"{i:064x}",
        "output_index": 0,
        "address": address,
        "amount": "100",
        "block_hash": "bb" * 32,
        "block_height": 100 + i,
        "confirmations": 1,
    }
    assert api.watcher.post("/v1/deposits", {"deposits": [report]}).status_code == 200


def test_addresses_are_walked_page_by_page_in_pool_order(
    api: Api, client: CoordinatorClient
) -> None:
    pool = api.fill_pool(8)
    assert [a.address for a in client.addresses("LTC", page=3)] == pool
    assert [a.address for a in client.addresses("LTC", imported=False, page=3)] == pool
    client.mark_imported("LTC", pool[1:7])
    assert [a.address for a in client.addresses("LTC", imported=True, page=3)] == pool[1:7]
    assert [a.address for a in client.addresses("LTC", imported=False, page=3)] == [
        pool[0],
        pool[7],
    ]
    assert [a.address for a in client.addresses("LTC", page=8)] == pool  # exactly one full page


def test_deposits_are_walked_oldest_first_or_a_page_at_a_time_newest_first(
    api: Api, client: CoordinatorClient
) -> None:
    api.fill_pool(1)
    address = api.deposit_address("alice")
    for i in range(7):
        _deposit(api, address, i)
    walked = client.deposits("LTC", DepositState.PENDING, page=3)
    assert [d.block_height for d in walked] == list(range(100, 107))
    pages = client.deposit_pages("LTC", DepositState.PENDING, newest_first=True, page=3)
    assert [[d.block_height for d in p] for p in pages] == [
        [106, 105, 104],
        [103, 102, 101],
        [100],
    ]
    assert client.deposits("LTC", DepositState.CREDITED, page=3) == []


def test_pages_are_asked_for_only_when_wanted(api: Api, client: CoordinatorClient) -> None:
    api.fill_pool(1)
    address = api.deposit_address("alice")
    for i in range(7):
        _deposit(api, address, i)
    pages = client.deposit_pages("LTC", DepositState.PENDING, page=3)
    first = next(pages)
    for i in range(7, 9):  # arrive after the first page was read: the walk still sees them
        _deposit(api, address, i)
    rest = [d.block_height for p in pages for d in p]
    assert [d.block_height for d in first] + rest == list(range(100, 109))


# The paging loop alone, with canned answers --------------------------------------------------


def _template(i: int) -> dict[str, object]:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    template = Template(
        id=f"tpl_{i:02d}",
        currency="LTC",
        kind=TemplateKind.WITHDRAWAL,
        status=TemplateStatus.SIGNED,
        payload="{}",
        payload_hash="x",
        txid=None,
        replaces=None,
        withdrawals=[],
        signed_payload=None,
        rejection=None,
        failure=None,
        block_hash=None,
        block_height=None,
        created_at=now,
        updated_at=now,
    )
    return template.model_dump(mode="json")


def test_templates_are_walked_after_the_last_id_until_a_short_page() -> None:
    everything = [_template(i) for i in range(7)]
    asked: list[dict[str, str]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        params = dict(request.url.params)
        asked.append(params)
        ids = [str(t["id"]) for t in everything]
        start = ids.index(params["after"]) + 1 if "after" in params else 0
        page = everything[start : start + int(params["limit"])]
        return httpx.Response(200, content=json.dumps(page).encode())

    client = CoordinatorClient("http://c", "t", transport=httpx.MockTransport(handler))
    found = client.templates("LTC", TemplateStatus.SIGNED, page=3)
    assert [t.id for t in found] == [f"tpl_{i:02d}" for i in range(7)]
    assert [(a.get("after"), a["limit"], a["status"]) for a in asked] == [
        (None, "3", "signed"),
        ("tpl_02", "3", "signed"),
        ("tpl_05", "3", "signed"),
    ]


def test_a_server_that_ignores_after_is_not_walked_forever() -> None:
    page = [_template(i) for i in range(3)]
    client = CoordinatorClient(
        "http://c",
        "t",
        transport=httpx.MockTransport(lambda r: httpx.Response(200, content=json.dumps(page))),
    )
    with pytest.raises(CoordinatorUnavailable, match="repeated a page"):
        client.templates("LTC", TemplateStatus.SIGNED, page=3)
