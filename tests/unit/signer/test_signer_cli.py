"""`custody signer` commands: exit code 2 and one readable line for every bad input."""

import json
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from custody.coordinator.auth import Role
from custody.coordinator.runtime import Runtime
from custody.signer import keystore as keystore_module
from custody.signer.cli import signer_app
from custody.signer.filemode import SIGNED_FORMAT, TEMPLATE_FORMAT
from tests.support.api import Api
from tests.support.server import serve
from tests.support.signer_templates import (
    BOB_SCRIPT,
    MNEMONIC,
    Out,
    path,
    pubkey,
    standard_case,
    write_policy,
)

PASS = "a long enough passphrase"


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    (tmp_path / "pass").write_text(PASS + "\n")
    return {
        "CUSTODY_SIGNER_KEYSTORE": str(tmp_path / "keystore.json"),
        "CUSTODY_SIGNER_POLICY": str(write_policy(tmp_path)),
        "CUSTODY_SIGNER_JOURNAL": str(tmp_path / "journal.jsonl"),
        "CUSTODY_SIGNER_PASSPHRASE_FILE": str(tmp_path / "pass"),
    }


def invoke(env: dict[str, str], *args: str, stdin: str | None = None) -> Result:
    return CliRunner().invoke(signer_app, list(args), env=env, input=stdin)


def imported(env: dict[str, str]) -> dict[str, str]:
    result = invoke(env, "init", "--import", "--scrypt-n", "1024", stdin=MNEMONIC + "\n")
    assert result.exit_code == 0, result.output
    return env


def one_line_error(result: Result, starts: str) -> str:
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    assert result.stderr.startswith(starts) and result.stderr.count("\n") == 1, result.stderr
    assert "Traceback" not in result.output
    return result.stderr


def test_init_shows_a_new_mnemonic_once(env: dict[str, str]) -> None:
    result = invoke(env, "init", "--scrypt-n", "1024")
    assert result.exit_code == 0, result.output
    words = result.stdout.strip().splitlines()[-1].split()
    assert len(words) == 24
    assert "scrypt n=1024 r=8 p=1, aes-256-gcm" in result.stdout
    keystore = Path(env["CUSTODY_SIGNER_KEYSTORE"])
    assert stat.S_IMODE(keystore.stat().st_mode) == 0o600
    assert " ".join(words) not in keystore.read_text()
    assert keystore_module.mnemonic_entropy(" ".join(words)).hex() not in keystore.read_text()


def test_init_imports_from_stdin_without_echoing_it(env: dict[str, str]) -> None:
    result = invoke(env, "init", "--import", "--scrypt-n", "1024", stdin=MNEMONIC + "\n")
    assert result.exit_code == 0, result.output
    assert "master fingerprint: 73c5da0a" in result.stdout
    assert "abandon" not in result.output


def test_init_never_overwrites(env: dict[str, str]) -> None:
    imported(env)
    one_line_error(invoke(env, "init", "--scrypt-n", "1024"), "error: ")


def test_init_with_a_bad_mnemonic(env: dict[str, str]) -> None:
    message = one_line_error(
        invoke(env, "init", "--import", stdin="abandon abandon zebra\n"), "error: the mnemonic"
    )
    assert "zebra" not in message


def test_init_with_the_passphrase_prompt(env: dict[str, str]) -> None:
    del env["CUSTODY_SIGNER_PASSPHRASE_FILE"]
    result = invoke(env, "init", "--import", "--scrypt-n", "1024",
                    stdin=f"{MNEMONIC}\n{PASS}\n{PASS}\n")
    assert result.exit_code == 0, result.output
    assert PASS not in result.output


def test_addresses_prints_json_lines(env: dict[str, str]) -> None:
    imported(env)
    result = invoke(env, "addresses", "LTC", "--count", "3", "--branch", "change", "--start", "2")
    assert result.exit_code == 0, result.output
    entries = [json.loads(line) for line in result.stdout.splitlines()]
    assert [e["derivation_path"] for e in entries] == [path(1, i) for i in (2, 3, 4)]
    assert [e["public_key"] for e in entries] == [pubkey(path(1, i)).hex() for i in (2, 3, 4)]
    assert {e["branch"] for e in entries} == {"change"}


def test_addresses_for_an_unknown_currency(env: dict[str, str]) -> None:
    imported(env)
    one_line_error(invoke(env, "addresses", "DOGE"), "error: currency DOGE")


def test_wrong_passphrase(env: dict[str, str], tmp_path: Path) -> None:
    imported(env)
    (tmp_path / "pass").write_text("not the passphrase\n")
    one_line_error(invoke(env, "addresses", "LTC"), "error: cannot unlock")


def test_damaged_keystore(env: dict[str, str]) -> None:
    imported(env)
    Path(env["CUSTODY_SIGNER_KEYSTORE"]).write_text('{"format": "custody-keystore/v1"}')
    one_line_error(invoke(env, "addresses", "LTC"), "error: keystore")


def test_missing_passphrase_file(env: dict[str, str], tmp_path: Path) -> None:
    imported(env)
    (tmp_path / "pass").unlink()
    one_line_error(invoke(env, "addresses", "LTC"), "error: cannot read passphrase file")


def test_bad_setting(env: dict[str, str]) -> None:
    env["CUSTODY_SIGNER_POLL_INTERVAL"] = "soon"
    one_line_error(invoke(env, "addresses", "LTC"), "error: invalid signer setting poll_interval")


def write_in(tmp_path: Path, template: object) -> Path:
    target = tmp_path / "in.json"
    body = template.model_dump(mode="json")  # type: ignore[attr-defined]
    target.write_text(json.dumps({"format": TEMPLATE_FORMAT, "template": body}))
    return target


def test_sign_file(env: dict[str, str], tmp_path: Path) -> None:
    imported(env)
    template = standard_case().template()
    source, out = write_in(tmp_path, template), tmp_path / "out.json"
    result = invoke(env, "sign-file", str(source), str(out))
    assert result.exit_code == 0, result.output
    document = json.loads(out.read_text())
    assert document["format"] == SIGNED_FORMAT and document["template_id"] == template.id
    assert document["txid"] == template.txid and document["signed_payload"]
    first = out.read_bytes()
    assert invoke(env, "sign-file", str(source), str(out)).exit_code == 0
    assert out.read_bytes() == first  # the same bytes every time


def test_sign_file_refusal_leaves_no_output(env: dict[str, str], tmp_path: Path) -> None:
    imported(env)
    case = standard_case()
    case.outputs[0] = Out(BOB_SCRIPT, case.outputs[0].value)
    out = tmp_path / "out.json"
    result = invoke(env, "sign-file", str(write_in(tmp_path, case.template())), str(out))
    one_line_error(result, "refused: output_unexpected: ")
    assert not out.exists()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{", "is not JSON"),
        ('{"format": "x", "template": {}}', "is not a custody-template/v1 file"),
        ('{"format": "custody-template/v1", "template": {"id": 1}}', "template."),
        ('{"format": "custody-template/v1", "template": {}, "more": 1}', "exactly the keys"),
    ],
)
def test_sign_file_with_a_bad_file(
    env: dict[str, str], tmp_path: Path, content: str, message: str
) -> None:
    imported(env)
    source = tmp_path / "in.json"
    source.write_text(content)
    assert message in one_line_error(
        invoke(env, "sign-file", str(source), str(tmp_path / "o")), "error: "
    )


def test_sign_file_missing_input(env: dict[str, str], tmp_path: Path) -> None:
    one_line_error(invoke(env, "sign-file", str(tmp_path / "no"), str(tmp_path / "o")), "error: ")


def test_options_override_the_environment(env: dict[str, str], tmp_path: Path) -> None:
    imported(env)
    moved = tmp_path / "moved.json"
    Path(env["CUSTODY_SIGNER_KEYSTORE"]).rename(moved)
    result = invoke(env, "--keystore", str(moved), "addresses", "LTC", "--count", "1")
    assert result.exit_code == 0, result.output


@pytest.fixture
def db_url(tmp_path: Path, sqlite_template: Path) -> str:
    """The coordinator of the posting test on SQLite only: the CLI does not care which database."""
    target = tmp_path / "coordinator.sqlite3"
    shutil.copy(sqlite_template, target)
    return f"sqlite:///{target}"


def test_addresses_posted_to_the_pool(env: dict[str, str], api: Api, runtime: Runtime) -> None:
    imported(env)
    with serve(runtime) as url:
        env |= {"CUSTODY_SIGNER_COORDINATOR_URL": url,
                "CUSTODY_SIGNER_TOKEN": api.tokens[Role.SIGNER]}
        first = invoke(env, "addresses", "LTC", "--count", "4", "--post")
        again = invoke(env, "addresses", "LTC", "--count", "6", "--post")
    assert first.exit_code == 0, first.output
    assert first.stdout.splitlines()[-1] == "posted 4 addresses: 4 new, 0 known"
    assert again.stdout.splitlines()[-1] == "posted 6 addresses: 2 new, 4 known"
    pool = api.watcher.get("/v1/addresses", currency="LTC").json()
    assert sorted(a["derivation_path"] for a in pool) == [path(0, i) for i in range(6)]
    assert {(a["branch"], a["fingerprint"]) for a in pool} == {("receive", "73c5da0a")}


def test_posting_without_a_token(env: dict[str, str]) -> None:
    imported(env)
    one_line_error(invoke(env, "addresses", "LTC", "--post"), "error: no coordinator token")


def test_file_mode_does_not_load_the_http_client() -> None:
    probe = "import sys, custody.signer.cli; print('httpx' in sys.modules)"
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                            check=True)
    assert loaded.stdout.strip() == "False"
