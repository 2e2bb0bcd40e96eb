"""Keys never leave the signer.

An operator's full session against the real coordinator, each command its own process: `init`
makes a keystore and shows the new mnemonic once; `addresses` derives some, and posts a few to
the pool so that Alice can be given a deposit address and credited. She asks for two
withdrawals, an operator approves them, and the watcher posts one honest template and one that
pays Bob. One `run --once` pass with DEBUG logging then tops up the pool, signs the first
template and refuses the second; `sign-file` signs the first as the coordinator holds it and
refuses the second; a wrong passphrase is tried. The signer talks to the coordinator through a
recording proxy, so every request and every answer it exchanged is kept.

Everything the processes print after `init`, both bodies of every HTTP exchange, every file the
signer wrote and the coordinator's database are then searched for the seed, the entropy, the
mnemonic's words in order and every private key derived along the way (raw hex, WIF, extended
keys), and the keystore file for any of them in plain text.
"""

import http.server
import json
import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from embit import bip32, bip39
from embit.networks import NETWORKS

from custody.chains import base58
from custody.coordinator.auth import Role
from tests.integration.signer.conftest import Steps
from tests.integration.signer.test_signer_opens_no_port import signer_env
from tests.support.signer_templates import ALICE, BOB_SCRIPT, ONE, Out, path, standard_case

PASSPHRASE = "process passphrase"
AMOUNT = 250_000_000  # the standard case's payment: one operator approval

Exchange = tuple[str, str, bytes, bytes]  # method, path, request body, answer body


@contextmanager
def recording_proxy(upstream: str) -> Iterator[tuple[str, list[Exchange]]]:
    """A loopback HTTP server that forwards every request to `upstream` and keeps both bodies;
    yields its URL and the list of exchanges."""
    exchanges: list[Exchange] = []
    client = httpx.Client(base_url=upstream, timeout=30)

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as the real server: the client holds on

        def _forward(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length") or 0))
            headers = {k: v for k, v in self.headers.items() if k.lower() in FORWARDED}
            answer = client.request(self.command, self.path, content=body, headers=headers)
            exchanges.append((self.command, self.path, body, answer.content))
            self.send_response(answer.status_code)
            self.send_header("content-type", answer.headers.get("content-type", "text/plain"))
            self.send_header("content-length", str(len(answer.content)))
            self.end_headers()
            self.wfile.write(answer.content)

        do_GET = do_POST = _forward

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", exchanges
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
        client.close()


FORWARDED = {"authorization", "content-type", "idempotency-key", "user-agent", "accept"}


def signer(env: dict[str, str], *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "custody.signer", *args], env=env, input=stdin,
        capture_output=True, text=True, timeout=120, check=False,
    )


def secrets_of(mnemonic: str, used_paths: set[str]) -> dict[str, str]:
    """Every form of key material a leak could take, by name."""
    seed = bip39.mnemonic_to_seed(mnemonic)
    root = bip32.HDKey.from_seed(seed)
    found = {"seed": seed.hex(), "entropy": bip39.mnemonic_to_bytes(mnemonic).hex()}
    nodes = {"m"} | {"/".join(p.split("/")[:n]) for p in used_paths for n in range(2, 7)}
    for at in sorted(nodes):
        key = root.derive(at)
        secret = key.key.secret
        found[f"{at} hex"] = secret.hex()
        for prefix in (b"\x80", b"\xef", b"\xb0"):  # mainnet, testnets, litecoin mainnet
            found[f"{at} wif {prefix.hex()}"] = base58.b58check_encode(prefix + secret + b"\x01")
            found[f"{at} wif-u {prefix.hex()}"] = base58.b58check_encode(prefix + secret)
        for net in ("main", "test"):
            found[f"{at} xprv {net}"] = key.to_base58(NETWORKS[net]["xprv"])
    return found


def assert_no_secret(where: str, text: str, secrets: dict[str, str], words: list[str]) -> None:
    lowered = text.lower()
    for name, value in secrets.items():
        assert value.lower() not in lowered, f"{name} leaked in {where}"
    in_order = r"\W+".join(re.escape(w) for w in words)
    assert not re.search(in_order, lowered), f"the mnemonic leaked in {where}"


def test_no_key_material_in_any_output(
    tmp_path: Path, steps: Steps, coordinator_url: str
) -> None:
    api = steps.api
    with recording_proxy(coordinator_url) as (url, exchanges):
        env = signer_env(tmp_path, url, api.tokens[Role.SIGNER])
        env["CUSTODY_SIGNER_LOG_LEVEL"] = "DEBUG"
        del env["CUSTODY_SIGNER_PASSPHRASE_FILE"]
        made = signer(env, "init", "--scrypt-n", "1024", stdin=f"{PASSPHRASE}\n{PASSPHRASE}\n")
        assert made.returncode == 0, made.stderr
        mnemonic = made.stdout.strip().splitlines()[-1].strip()
        words = mnemonic.split()
        assert len(words) == 24 and made.stdout.count(mnemonic) == 1  # shown once, at init

        env["CUSTODY_SIGNER_PASSPHRASE_FILE"] = str(tmp_path / "pass")
        (tmp_path / "pass").write_text(PASSPHRASE + "\n")
        outputs = {
            "addresses": signer(env, "addresses", "LTC", "--count", "5", "--branch", "change"),
            "post": signer(env, "addresses", "LTC", "--count", "2", "--post"),
        }
        assert outputs["post"].returncode == 0, outputs["post"].stderr

        # Alice is credited and asks twice; the watcher posts an honest and a swapped template.
        api.credit("alice", 10 * ONE, txid="f1" * 32)
        root = bip32.HDKey.from_seed(bip39.mnemonic_to_seed(mnemonic))
        honest, swapped = standard_case(root=root), standard_case(root=root)
        swapped.outputs[0] = Out(BOB_SCRIPT, AMOUNT)
        good = steps.queue(honest.psbt(), [steps.withdraw("req-good", "alice", ALICE, AMOUNT, 1)])
        bad = steps.queue(swapped.psbt(), [steps.withdraw("req-bad", "alice", ALICE, AMOUNT, 1)])

        outputs["run"] = signer(env, "run", "--once")
        assert outputs["run"].returncode == 0, outputs["run"].stderr
        assert steps.template(good).status == "signed"
        assert steps.template(bad).status == "rejected"
    assert {p.split("?")[0] for _, p, _, _ in exchanges} == {
        "/v1/currencies", "/v1/addresses/pool", "/v1/addresses", "/v1/templates",
        f"/v1/templates/{good}/signature", f"/v1/templates/{bad}/rejection",
    }  # everything the signer said and heard went through the proxy

    for name, tid in (("good", good), ("bad", bad)):
        template = steps.template(tid)
        (tmp_path / f"{name}.json").write_text(json.dumps(
            {"format": "custody-template/v1", "template": template.model_dump(mode="json")}))
        outputs[f"sign-file {name}"] = signer(
            env, "sign-file", str(tmp_path / f"{name}.json"), str(tmp_path / f"{name}-out.json"))
    assert outputs["sign-file good"].returncode == 0, outputs["sign-file good"].stderr
    assert outputs["sign-file bad"].returncode == 2
    (tmp_path / "pass").write_text("the wrong passphrase\n")
    outputs["wrong passphrase"] = signer(env, "addresses", "LTC")
    assert outputs["wrong passphrase"].returncode == 2
    assert '"level": "info"' in outputs["run"].stderr  # the run logged, and its log is scanned

    used = {a.derivation_path for a in steps.pool()}
    used |= {c.path for c in honest.coins} | {path(1, i) for i in range(5)}
    secrets = secrets_of(mnemonic, used)
    assert len(secrets) > 100
    for name, out in outputs.items():
        assert_no_secret(f"the output of {name}", out.stdout + out.stderr, secrets, words)
    for method, where, sent, answered in exchanges:
        assert_no_secret(f"{method} {where}", sent.decode(), secrets, words)
        assert_no_secret(f"the answer to {method} {where}", answered.decode(), secrets, words)
    for written in tmp_path.rglob("*"):  # the signer's files and the coordinator's database
        if written.is_file():
            assert_no_secret(str(written.relative_to(tmp_path)),
                             written.read_text(errors="replace"), secrets, words)
    assert os.stat(tmp_path / "keystore.json").st_mode & 0o077 == 0
