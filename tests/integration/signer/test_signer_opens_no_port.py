"""The signer opens no port.

We start `custody signer run` as its own process against the real coordinator served on
loopback HTTP. Its first pass fills the address pool. Then Alice is credited and asks for a
withdrawal, and the watcher posts a template for it: a later pass of the running signer signs
it. While it runs, /proc shows the sockets it holds: its outbound TCP connection to the
coordinator and nothing that listens, neither TCP nor UDP nor a unix socket. SIGTERM ends it
cleanly.
"""

import os
import signal
import subprocess
import sys
from pathlib import Path

from custody.coordinator.auth import Role
from custody.signer import keystore
from tests.integration.signer.conftest import Steps
from tests.support.procnet import listening, sockets
from tests.support.signer_templates import (
    ALICE,
    ALICE_SCRIPT,
    MNEMONIC,
    ONE,
    Coin,
    Out,
    build_psbt,
    change_out,
    path,
    write_policy,
)
from tests.support.wait import wait_until


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


def test_running_signer_listens_on_nothing(
    tmp_path: Path, steps: Steps, coordinator_url: str
) -> None:
    api = steps.api
    keystore.create(tmp_path / "keystore.json", MNEMONIC, "process passphrase", scrypt_n=2**10)
    process = subprocess.Popen(
        [sys.executable, "-m", "custody.signer", "run"],
        env=signer_env(tmp_path, coordinator_url, api.tokens[Role.SIGNER]),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )

    def pool() -> set[tuple[str, int, int]]:
        levels = api.signer.get("/v1/addresses/pool").json()
        return {(p["branch"], p["unused"], p["total"]) for p in levels}

    try:
        # Its first pass fills the pool: 3 receive and 3 change addresses.
        full = {("receive", 3, 3), ("change", 3, 3)}
        wait_until(lambda: pool() == full or process.poll() is not None, timeout=30)
        assert process.poll() is None, process.communicate()

        # A template posted now is signed by a later pass.
        api.credit("alice", 3 * ONE, txid="f0" * 32)
        wid = steps.withdraw("req-port", "alice", ALICE, ONE // 2)
        psbt = build_psbt([Coin(path(0, 0), 3 * ONE)],
                          [Out(ALICE_SCRIPT, ONE // 2), change_out(0, 3 * ONE - ONE // 2 - 5_000)])
        tid = steps.queue(psbt, [wid])
        wait_until(lambda: steps.template(tid).status == "signed" or process.poll() is not None,
                   timeout=30)
        assert process.poll() is None, process.communicate()

        held = sockets(process.pid)
        assert listening(process.pid) == []
        # What it holds is its kept-alive connection to the coordinator, dialled from an
        # ephemeral port (01 = ESTABLISHED).
        assert [s.state for s in held if s.table.startswith("tcp")] == ["01"]
        # It topped the pool up again after Alice's deposit address was handed out.
        assert pool() == {("receive", 3, 4), ("change", 3, 3)}
    finally:
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    assert b"signer loop stopped" in err
