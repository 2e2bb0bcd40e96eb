"""The operator console in a real browser (Debian's Chromium, driven by Playwright).

Alice is credited 10 LTC and asks for 5 LTC, which needs one operator's approval. Bob's deposit
is reorged out after it was credited (an alert), and a small withdrawal's template is refused by
the signer with a reason that holds a `<script>` tag. A signer's token cannot open the console,
nor can a made-up one. The operator logs in, sees the pool, the counts and the alert, the waiting
5 LTC with the exact `custody operator approve` command, the refusal shown as text, the deposits,
and logs out. The token lives in an HttpOnly, SameSite=Strict cookie that scripts cannot read.
"""

import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import Browser, Page, sync_playwright
from sqlalchemy import update

from custody.contract.withdrawals import WithdrawalIntent
from custody.coordinator.app import create_app
from custody.coordinator.auth import Role
from custody.coordinator.db.engine import make_engine, make_sessionmaker
from custody.coordinator.db.tables import ApiToken
from custody.coordinator.runtime import Runtime
from custody.coordinator.settings import CoordinatorSettings
from tests.support.api import Api
from tests.support.api import test_config as coordinator_config
from tests.support.server import serve

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCRIPT = "<script>alert(1)</script>"


@pytest.fixture
def sqlite_runtime(tmp_path: Path, sqlite_template: Path) -> Iterator[Runtime]:
    """A coordinator runtime on a fresh SQLite file (a browser test needs one database only)."""
    path = tmp_path / "custody.sqlite3"
    shutil.copy(sqlite_template, path)
    url = f"sqlite:///{path}"
    settings = CoordinatorSettings(database_url=url, migrate_on_start=False, max_body_bytes=65536)
    engine = make_engine(url)
    yield Runtime(settings, coordinator_config(), engine, make_sessionmaker(engine))
    engine.dispose()


@pytest.fixture
def api(sqlite_runtime: Runtime) -> Iterator[Api]:
    """The coordinator in-process, for seeding the scenario through its API."""
    with TestClient(create_app(sqlite_runtime), raise_server_exceptions=False) as client:
        yield Api(sqlite_runtime, client)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's Chromium, headless; never a downloaded browser build."""
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def _seed(api: Api) -> str:
    """The scenario's data; returns the id of the withdrawal that waits for an operator."""
    api.fill_pool(3)
    api.credit("alice", 10 * 10**8)
    deposit = api.credit("bob", 2 * 10**8, txid="cc" * 32)
    gone = {**_deposit_report(deposit), "confirmations": 0, "in_chain": False}
    assert api.watcher.post("/v1/deposits", {"deposits": [gone]}).json()[0]["state"] == "reversed"
    first, second = api.fill_pool(2, branch="change")
    big = WithdrawalIntent(
        request_id="big", user_id="alice", currency="LTC", amount=5 * 10**8, destination=first
    )
    waiting = api.withdraw(big).json()
    assert (waiting["state"], waiting["approvals_required"]) == ("requested", 1)
    small = WithdrawalIntent(
        request_id="small", user_id="alice", currency="LTC", amount=10**7, destination=second
    )
    _refused_template(api, api.withdraw(small).json()["id"])
    return str(waiting["id"])


def _deposit_report(deposit: dict[str, object]) -> dict[str, object]:
    keys = ("currency", "txid", "output_index", "address", "amount", "block_hash", "block_height")
    return {k: deposit[k] for k in keys}


def _refused_template(api: Api, wid: str) -> None:
    body = {
        "currency": "LTC",
        "kind": "withdrawal",
        "withdrawal_ids": [wid],
        "payload": "cHNidP8BAA==",
        "txid": "11" * 32,
    }
    tid = api.watcher.post("/v1/templates", body).json()["id"]
    refusal = {"code": "fee_over_cap", "reason": SCRIPT}
    r = api.signer.post(f"/v1/templates/{tid}/rejection", refusal)
    assert r.json()["status"] == "rejected", r.text


def _log_in(page: Page, url: str, token: str) -> int:
    """Submit the login form; returns the HTTP status of the answer to the POST."""
    page.goto(f"{url}/console/login")
    page.fill("#token", token)
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        page.click("button[type=submit]")
    page.wait_for_load_state()
    return answer.value.status


def _row(page: Page, table: str, text: str) -> str:
    return page.locator(f"#{table} tbody tr", has_text=text).first.inner_text()


def test_operator_reads_the_console_in_a_browser(
    api: Api, sqlite_runtime: Runtime, browser: Browser, tmp_path: Path
) -> None:
    wid = _seed(api)
    dialogs: list[str] = []
    with serve(sqlite_runtime) as url:
        context = browser.new_context()
        page = context.new_page()
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))

        first = page.goto(f"{url}/console/")
        assert first is not None and first.status == 401
        assert page.get_by_role("heading", name="Log in").is_visible()

        assert _log_in(page, url, api.tokens[Role.SIGNER]) == 403
        assert "the console is for operator tokens only" in page.inner_text(".refused")
        assert _log_in(page, url, "cst_operator_made-up") == 401
        assert "unknown or revoked" in page.inner_text(".refused")
        assert context.cookies() == []

        assert _log_in(page, url, api.tokens[Role.OPERATOR]) == 303
        assert page.url == f"{url}/console/"
        (cookie,) = context.cookies()
        assert (cookie["httpOnly"], cookie["sameSite"], cookie["secure"]) == (True, "Strict", False)
        assert page.evaluate("document.cookie") == ""

        assert "LTC\treceive\t1\t3" in _row(page, "pools", "receive")
        assert _row(page, "counts", "requested").split("\t") == ["requested", "1"]
        assert _row(page, "counts", "failed").split("\t") == ["failed", "1"]
        assert page.locator("#alerts tbody tr").first.inner_text().count("alert_deposit_reversed")

        page.click("text=Waiting withdrawals")
        row = _row(page, "waiting", wid)
        assert "5 LTC" in row and "500000000 base units" in row
        assert "0 / 1" in row and "requested" in row
        assert page.locator("#waiting code.command").all_inner_texts() == [
            f"custody operator approve {wid}"
        ]
        page.screenshot(path=str(tmp_path / "withdrawals.png"), full_page=True)

        page.click("text=Templates")
        assert SCRIPT in _row(page, "templates", "rejected")
        assert "fee_over_cap" in _row(page, "templates", "rejected")
        assert page.locator("script").count() == 0

        page.click("text=Deposits")
        assert "reversed" in _row(page, "deposits", "bob")
        assert "10 LTC" in _row(page, "deposits", "alice")

        page.click("text=Log out")
        page.wait_for_url(f"{url}/console/login")
        assert context.cookies() == []
        again = page.goto(f"{url}/console/withdrawals")
        assert again is not None and again.status == 401
        context.close()
    assert dialogs == []


def test_every_page_checks_the_token_again(api: Api) -> None:
    # Over https the cookie is also Secure; a token revoked after login opens nothing more.
    client = TestClient(create_app(api.runtime), base_url="https://testserver")
    r = client.post(
        "/console/login",
        content=f"token={api.tokens[Role.OPERATOR]}",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    flags = r.headers["set-cookie"].lower()
    assert "httponly" in flags and "samesite=strict" in flags and "secure" in flags
    assert client.get("/console/deposits").status_code == 200
    with api.runtime.sessions.begin() as s:
        s.execute(update(ApiToken).values(revoked_at=datetime.now(UTC)))
    refused = client.get("/console/deposits")
    assert refused.status_code == 401 and "unknown or revoked" in refused.text
    assert client.post("/console/login", content=b"\xff\x00garbage").status_code == 401
