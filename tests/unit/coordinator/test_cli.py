"""`custody coordinator …`: bad input exits 2 with one readable line; tokens are printed once."""

import subprocess
import sys
from pathlib import Path

from sqlalchemy import create_engine, text


def _custody(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "custody", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith("CUSTODY_")}
    env["CUSTODY_DATABASE_URL"] = f"sqlite:///{tmp_path / 'c.sqlite3'}"
    env.update(extra)
    return env


def test_token_create_stores_only_a_hash(tmp_path: Path) -> None:
    r = _custody("coordinator", "token", "create", "--role", "watcher", env=_env(tmp_path))
    assert r.returncode == 0, r.stderr
    token = r.stdout.strip()
    assert token.startswith("cst_watcher_")
    engine = create_engine(f"sqlite:///{tmp_path / 'c.sqlite3'}")
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT token_hash, role FROM api_tokens")).all()
    assert len(stored) == 1 and stored[0][1] == "watcher"
    assert token not in stored[0][0]


def test_bad_role_is_one_line_and_exit_2(tmp_path: Path) -> None:
    r = _custody("coordinator", "token", "create", "--role", "admin", env=_env(tmp_path))
    assert r.returncode == 2
    assert r.stderr.strip().count("\n") == 0
    assert "--role must be one of" in r.stderr
    assert "Traceback" not in r.stderr


def test_missing_config_is_one_line_and_exit_2(tmp_path: Path) -> None:
    env = _env(tmp_path, CUSTODY_CONFIG_FILE=str(tmp_path / "missing.toml"))
    r = _custody("coordinator", "check-config", env=env)
    assert (r.returncode, r.stderr.strip()) == (
        2,
        f"error: config file not found: {tmp_path / 'missing.toml'}",
    )


def test_invalid_config_names_the_problem(tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text(
        'exchange_public_key = "' + "ab" * 32 + '"\n'
        '[[currencies]]\ncode = "LTC"\nfamily = "bitcoin"\nnetwork = "ltc-moon"\ndecimals = 8\nconfirmations = 3\n'
    )
    r = _custody("coordinator", "check-config", env=_env(tmp_path, CUSTODY_CONFIG_FILE=str(cfg)))
    assert r.returncode == 2
    assert r.stderr.strip() == "error: currency LTC: unknown network 'ltc-moon'"


def test_bad_setting_is_one_line(tmp_path: Path) -> None:
    r = _custody("coordinator", "migrate", env=_env(tmp_path, CUSTODY_PORT="seventy"))
    assert r.returncode == 2
    assert r.stderr.startswith("error: setting CUSTODY_PORT")
