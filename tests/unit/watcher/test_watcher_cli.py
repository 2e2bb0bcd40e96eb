"""`custody watcher`: readable errors, the config check, and no secret on the screen."""

from pathlib import Path

import pytest
from typer.testing import CliRunner

from custody.watcher.cli import watcher_app

CONFIG = """
exchange_public_key = "%s"

[[currencies]]
code = "LTC"
family = "bitcoin"
network = "ltc-regtest"
decimals = 8
confirmations = 3

[currencies.node]
url = "http://127.0.0.1:19443"
user = "rpc"
password = "very-secret-password"
wallet = "custody-ltc"
""" % ("ab" * 32)


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    config = tmp_path / "custody.toml"
    config.write_text(CONFIG)
    monkeypatch.setenv("CUSTODY_WATCHER_CONFIG_FILE", str(config))
    # The command sets up process-wide JSON logging; the test process keeps pytest's.
    monkeypatch.setattr("custody.watcher.cli.configure_logging", lambda level: None)
    for name in ("CUSTODY_WATCHER_TOKEN", "CUSTODY_WATCHER_TOKEN_FILE"):
        monkeypatch.delenv(name, raising=False)
    return config


def test_check_config_lists_what_is_watched_without_the_password(env: Path) -> None:
    result = CliRunner().invoke(watcher_app, ["check-config"])
    assert result.exit_code == 0, result.output
    assert "LTC: bitcoin ltc-regtest at http://127.0.0.1:19443 (user rpc)" in result.output
    assert "very-secret-password" not in result.output


def test_run_without_a_token_fails_in_one_line(env: Path) -> None:
    result = CliRunner().invoke(watcher_app, ["run", "--once"])
    assert result.exit_code == 2
    assert "no coordinator token" in result.output


def test_a_config_without_node_tables_is_refused(env: Path) -> None:
    env.write_text(CONFIG.split("[currencies.node]")[0])
    result = CliRunner().invoke(watcher_app, ["check-config"])
    assert result.exit_code == 2
    assert "no currency" in result.output and "[currencies.node]" in result.output


def test_run_once_survives_an_unreachable_coordinator(
    env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CUSTODY_WATCHER_TOKEN", "tok")
    monkeypatch.setenv("CUSTODY_WATCHER_COORDINATOR_URL", "http://127.0.0.1:9")
    result = CliRunner().invoke(watcher_app, ["run", "--once"])
    assert result.exit_code == 0, result.output
    assert '"unavailable": true' in result.output
