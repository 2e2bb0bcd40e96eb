"""The watcher's settings and the node tables it reads from the coordinator's config file."""

import tomllib
from pathlib import Path

import pytest
from pydantic import ValidationError

from custody.contract.currencies import ChainFamily
from custody.watcher.errors import SettingsError
from custody.watcher.settings import NodeConfig, load_settings, load_watched, parse_watched

CONFIG = """
exchange_public_key = "%s"

[[currencies]]
code = "LTC"
family = "bitcoin"
network = "ltc-main"
decimals = 8
confirmations = 6

[currencies.node]
url = "http://127.0.0.1:9332"
cookie_file = "/var/lib/litecoind/.cookie"
wallet = "custody-ltc"
fee_floor = 1
fee_cap = 50
batch_size = 40

[[currencies]]
code = "BTC"
family = "bitcoin"
network = "btc-main"
decimals = 8
confirmations = 3
""" % ("ab" * 32)


def test_currencies_with_a_node_table_are_watched(tmp_path: Path) -> None:
    path = tmp_path / "custody.toml"
    path.write_text(CONFIG)
    [ltc] = load_watched(path)  # BTC has no node table: another watcher's, or none
    assert (ltc.code, ltc.family, ltc.network) == ("LTC", ChainFamily.BITCOIN, "ltc-main")
    assert ltc.node.batch_size == 40 and ltc.node.wallet == "custody-ltc"
    assert ltc.node.cookie_file == Path("/var/lib/litecoind/.cookie")


def test_the_coordinator_reads_the_same_file(tmp_path: Path) -> None:
    from custody.coordinator.config import parse_config

    config = parse_config(tomllib.loads(CONFIG))
    assert set(config.currencies) == {"LTC", "BTC"}


@pytest.mark.parametrize(
    ("node", "message"),
    [
        (
            {"url": "http://n", "fee_floor": 9, "fee_cap": 5, "user": "u", "password": "p"},
            "fee_floor",
        ),
        ({"url": "http://n"}, "cookie_file or user"),
        ({"url": "http://n", "user": "u"}, "exactly one of password"),
        ({"url": "ftp://n", "user": "u", "password": "p"}, "url"),
        ({"url": "http://n", "user": "u", "password": "p", "fallback_fee": 500}, "fallback_fee"),
        ({"url": "http://n", "user": "u", "password": "p", "unknown": 1}, "unknown"),
    ],
)
def test_bad_node_tables_are_refused_with_the_reason(node: dict[str, object], message: str) -> None:
    raw = {
        "currencies": [{"code": "LTC", "family": "bitcoin", "network": "ltc-main", "node": node}]
    }
    with pytest.raises(SettingsError, match=message):
        parse_watched(raw)


def test_a_currency_listed_twice_is_refused() -> None:
    entry = {
        "code": "LTC",
        "family": "bitcoin",
        "network": "ltc-main",
        "node": {"url": "http://n", "user": "u", "password": "p"},
    }
    with pytest.raises(SettingsError, match="twice"):
        parse_watched({"currencies": [entry, entry]})


def test_a_missing_or_broken_file_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="not found"):
        load_watched(tmp_path / "none.toml")
    (tmp_path / "bad.toml").write_text("[[currencies]\n")
    with pytest.raises(SettingsError, match="cannot read config"):
        load_watched(tmp_path / "bad.toml")


def test_credentials_from_a_password_file_and_a_cookie(tmp_path: Path) -> None:
    (tmp_path / "pw").write_text("s3cret\n")
    (tmp_path / ".cookie").write_text("__cookie__:abc")
    by_file = NodeConfig(url="http://n", user="u", password_file=tmp_path / "pw")
    assert by_file.credentials() == ("u", "s3cret")
    by_cookie = NodeConfig(url="http://n", cookie_file=tmp_path / ".cookie")
    assert by_cookie.credentials() == ("__cookie__", "abc")
    (tmp_path / ".cookie").write_text("garbage")
    with pytest.raises(SettingsError, match="user:password"):
        by_cookie.credentials()


def test_the_password_never_shows_in_repr() -> None:
    config = NodeConfig(url="http://n", user="u", password="hunter2")
    assert "hunter2" not in repr(config)


def test_settings_come_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("CUSTODY_WATCHER_COORDINATOR_URL", "http://coordinator:8700")
    monkeypatch.setenv("CUSTODY_WATCHER_POLL_INTERVAL", "2.5")
    (tmp_path / "token").write_text("tok\n")
    monkeypatch.setenv("CUSTODY_WATCHER_TOKEN_FILE", str(tmp_path / "token"))
    settings = load_settings()
    assert settings.coordinator_url == "http://coordinator:8700"
    assert settings.poll_interval == 2.5
    assert settings.api_token() == "tok"


def test_bad_settings_and_a_missing_token_are_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CUSTODY_WATCHER_POLL_INTERVAL", "-1")
    with pytest.raises(SettingsError, match="poll_interval"):
        load_settings()
    monkeypatch.delenv("CUSTODY_WATCHER_POLL_INTERVAL")
    with pytest.raises(SettingsError, match="no coordinator token"):
        load_settings().api_token()


def test_node_config_is_frozen() -> None:
    config = NodeConfig(url="http://n", user="u", password="p")
    with pytest.raises(ValidationError):
        config.batch_size = 3  # type: ignore[misc]


def test_a_family_the_watcher_cannot_watch_is_named() -> None:
    entry = {"code": "XNO", "family": "nano", "network": "nano-main", "node": {"url": "http://n"}}
    with pytest.raises(SettingsError, match="cannot watch family 'nano'"):
        parse_watched({"currencies": [entry]})
