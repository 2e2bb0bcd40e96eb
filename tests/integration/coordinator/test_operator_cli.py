"""`custody operator`: an operator approves a large withdrawal and reissues a dead one.

Alice asks for 5 LTC, which needs one operator. The operator lists what waits, approves it with
the key file, and later, when its signed transaction is reported dead, reissues it: both from
the command line, against the coordinator over HTTP. Bad input is one line and exit code 2.
"""

import os
import stat
import subprocess
import sys
from pathlib import Path

from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from custody.contract.withdrawals import WithdrawalIntent
from custody.coordinator.auth import Role
from custody.coordinator.runtime import Runtime
from tests.support.api import Api
from tests.support.keys import OPERATORS
from tests.support.server import serve


def _operator(tmp_path: Path, url: str, token: str, *args: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "token").write_text(token)
    env = {k: v for k, v in os.environ.items() if not k.startswith("CUSTODY_")}
    env |= {
        "CUSTODY_OPERATOR_COORDINATOR_URL": url,
        "CUSTODY_OPERATOR_TOKEN_FILE": str(tmp_path / "token"),
        "CUSTODY_OPERATOR_KEY_FILE": str(tmp_path / "op.pem"),
    }
    return subprocess.run(
        [sys.executable, "-m", "custody", "operator", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )


def test_keygen_writes_a_private_file_once(tmp_path: Path) -> None:
    r = _operator(tmp_path, "http://127.0.0.1:9", "x", "keygen", "--out", str(tmp_path / "k.pem"))
    assert r.returncode == 0 and len(r.stdout.strip()) == 64
    assert stat.S_IMODE((tmp_path / "k.pem").stat().st_mode) == 0o600
    again = _operator(
        tmp_path, "http://127.0.0.1:9", "x", "keygen", "--out", str(tmp_path / "k.pem")
    )
    assert (again.returncode, again.stderr.count("\n")) == (2, 1)
    assert "not overwriting" in again.stderr


def test_approve_and_reissue_from_the_command_line(
    api: Api, runtime: Runtime, tmp_path: Path
) -> None:
    pem = OPERATORS[0].private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    (tmp_path / "op.pem").write_bytes(pem)
    api.fill_pool(1)
    api.credit("alice", 10 * 10**8)
    dest = api.fill_pool(1, branch="change")[0]
    intent = WithdrawalIntent(
        request_id="big", user_id="alice", currency="LTC", amount=5 * 10**8, destination=dest
    )
    wid = api.withdraw(intent).json()["id"]
    token = api.tokens[Role.OPERATOR]
    with serve(runtime) as url:
        listed = _operator(tmp_path, url, token, "pending")
        assert wid in listed.stdout and "requested" in listed.stdout
        approved = _operator(tmp_path, url, token, "approve", wid)
        assert approved.returncode == 0, approved.stderr
        assert f"{wid} approved" in approved.stdout
        body = {
            "currency": "LTC",
            "kind": "withdrawal",
            "withdrawal_ids": [wid],
            "payload": "cA==",
            "txid": "11" * 32,
        }
        tid = api.watcher.post("/v1/templates", body).json()["id"]
        api.signer.post(
            f"/v1/templates/{tid}/signature", {"signed_payload": "00", "txid": "11" * 32}
        )
        api.watcher.post(
            f"/v1/templates/{tid}/failure",
            {"code": "input_spent", "reason": "buried", "outcome": "retry"},
        )
        reissued = _operator(tmp_path, url, token, "reissue", wid, "11" * 32)
        assert reissued.returncode == 0, reissued.stderr
        assert f"{wid} approved" in reissued.stdout
        wrong = _operator(tmp_path, url, token, "reissue", wid, "22" * 32)
        assert wrong.returncode == 2
        assert wrong.stderr.startswith("error: illegal_state")
        missing = _operator(tmp_path, url, token, "approve", "wd_missing")
        assert (missing.returncode, missing.stderr.strip()) == (
            2,
            "error: unknown_withdrawal: no withdrawal wd_missing",
        )
