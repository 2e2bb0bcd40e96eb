"""Every route checks the caller's role: a wrong role is 403, no token is 401, and nothing changes."""

import pytest

from custody.coordinator.auth import Role
from tests.support.api import Api

# (method, path, roles that may call it). Bodies are irrelevant: auth is checked first.
ROUTES: list[tuple[str, str, set[Role]]] = [
    ("GET", "/v1/currencies", set(Role)),
    ("POST", "/v1/addresses", {Role.SIGNER}),
    ("GET", "/v1/addresses/pool", {Role.SIGNER, Role.OPERATOR}),
    ("GET", "/v1/addresses?currency=LTC", {Role.WATCHER, Role.OPERATOR}),
    ("POST", "/v1/addresses/imported", {Role.WATCHER}),
    ("POST", "/v1/addresses/change", {Role.WATCHER}),
    ("POST", "/v1/deposit-addresses", {Role.EXCHANGE}),
    ("POST", "/v1/deposits", {Role.WATCHER}),
    ("GET", "/v1/deposits", {Role.WATCHER, Role.EXCHANGE, Role.OPERATOR}),
    ("GET", "/v1/deposits/feed", {Role.EXCHANGE, Role.OPERATOR}),
    ("POST", "/v1/withdrawals", {Role.EXCHANGE}),
    ("GET", "/v1/withdrawals", {Role.EXCHANGE, Role.WATCHER, Role.OPERATOR}),
    ("GET", "/v1/withdrawals/wd_x", {Role.EXCHANGE, Role.WATCHER, Role.OPERATOR}),
    ("POST", "/v1/withdrawals/wd_x/approvals", {Role.OPERATOR}),
    ("POST", "/v1/withdrawals/wd_x/reissues", {Role.OPERATOR}),
    ("POST", "/v1/withdrawals/wd_x/cancel", {Role.EXCHANGE, Role.OPERATOR}),
    ("POST", "/v1/templates", {Role.WATCHER}),
    ("GET", "/v1/templates", {Role.WATCHER, Role.SIGNER, Role.OPERATOR}),
    ("GET", "/v1/templates/tpl_x", {Role.WATCHER, Role.SIGNER, Role.OPERATOR}),
    ("POST", "/v1/templates/tpl_x/signature", {Role.SIGNER}),
    ("POST", "/v1/templates/tpl_x/rejection", {Role.SIGNER}),
    ("POST", "/v1/templates/tpl_x/broadcast", {Role.WATCHER}),
    ("POST", "/v1/templates/tpl_x/confirmation", {Role.WATCHER}),
    ("POST", "/v1/templates/tpl_x/failure", {Role.WATCHER}),
    ("GET", "/v1/cursors/LTC", {Role.WATCHER, Role.OPERATOR}),
    ("PUT", "/v1/cursors/LTC", {Role.WATCHER}),
    ("GET", "/v1/balances/alice", {Role.EXCHANGE, Role.OPERATOR}),
]


def test_every_route_is_listed_here(api: Api) -> None:
    paths = api.client.get("/openapi.json").json()["paths"]
    served = {(m.upper(), p) for p, ops in paths.items() for m in ops if p.startswith("/v1")}
    names = {
        "wd_x": "{withdrawal_id}",
        "tpl_x": "{template_id}",
        "LTC": "{currency}",
        "alice": "{user_id}",
    }
    listed = {
        (m, "/".join(names.get(part, part) for part in p.split("?")[0].split("/")))
        for m, p, _ in ROUTES
    }
    assert served == listed


@pytest.mark.parametrize(
    ("method", "path", "allowed"), ROUTES, ids=[f"{m} {p}" for m, p, _ in ROUTES]
)
def test_roles(api: Api, method: str, path: str, allowed: set[Role]) -> None:
    for role in Role:
        r = api.client.request(method, path, json={}, headers=api.as_role(role).headers)
        if role in allowed:
            assert r.status_code != 403, (role, r.text)
        else:
            assert r.status_code == 403, (role, r.text)
            assert r.json()["error"]["code"] == "forbidden"
    r = api.client.request(method, path, json={})
    assert (r.status_code, r.json()["error"]["code"]) == (401, "unauthenticated")
    bad = api.client.request(method, path, json={}, headers={"Authorization": "Bearer cst_nope"})
    assert (bad.status_code, bad.json()["error"]["code"]) == (401, "unauthenticated")
