"""The signer opens no port.

We start `custody signer run` as its own process against a coordinator on loopback HTTP and
let it poll a few times. While it runs, /proc shows the sockets it holds: outbound TCP
connections to the coordinator and nothing that listens, neither TCP nor UDP nor a unix
socket. SIGTERM ends it cleanly.
"""

import os
import signal
import subprocess
import sys
from pathlib import Path

from tests.support.fake_coordinator import FakeCoordinator
from tests.support.procnet import listening, sockets
from tests.support.signer_templates import MNEMONIC, write_policy
from tests.support.wait import wait_until

from custody.signer import keystore


def signer_env(tmp_path: Path, url: str, token: str) -> dict[str, str]:
    """The signer's environment: its files under tmp_path, no other CUSTODY_ variable."""
    (tmp_path / "pass").write_text("process passphrase\n")
    (tmp_path / "token").write_text(token + "\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("CUSTODY_")}
    env.update({
        "CUSTODY_SIGNER_KEYSTORE": str(tmp_path / "keystore.json"),
        "CUSTODY_SIGNER_POLICY": str(write_policy(tmp_path)),
        "CUSTODY_SIGNER_JOURNAL": str(tmp_path / "journal.jsonl"),
        "CUSTODY_SIGNER_PASSPHRASE_FILE": str(tmp_path / "pass"),
        "CUSTODY_SIGNER_COORDINATOR_URL": url,
        "CUSTODY_SIGNER_TOKEN_FILE": str(tmp_path / "token"),
        "CUSTODY_SIGNER_POLL_INTERVAL": "0.05",
        "CUSTODY_SIGNER_POOL_TARGET": "3",
    })
    return env


def test_running_signer_listens_on_nothing(tmp_path: Path) -> None:
    fake = FakeCoordinator()
    keystore.create(tmp_path / "keystore.json", MNEMONIC, "process passphrase", scrypt_n=2**10)
    with fake.serve() as url:
        process = subprocess.Popen(
            [sys.executable, "-m", "custody.signer", "run"],
            env=signer_env(tmp_path, url, fake.token),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )
        try:
            polls = lambda: sum(1 for m, p, _ in fake.requests if p == "/v1/templates")  # noqa: E731
            wait_until(lambda: polls() >= 3 or process.poll() is not None, timeout=30)
            assert process.poll() is None, process.communicate()
            held = sockets(process.pid)
            assert listening(process.pid) == []
            # What it holds is its kept-alive connection to the coordinator, dialled from an
            # ephemeral port (01 = ESTABLISHED).
            assert [s.state for s in held if s.table.startswith("tcp")] == ["01"]
            assert len(fake.pool) == 6  # it filled the pool while we watched
        finally:
            process.send_signal(signal.SIGTERM)
            _, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    assert b"signer loop stopped" in err
