"""Keys never leave the signer.

An operator's full session, each command its own process: `init` makes a keystore and shows
the new mnemonic once; `addresses` derives some; one `run --once` pass with DEBUG logging talks
to a coordinator over HTTP, fills the pool, signs one template and refuses another; `sign-file`
signs one file and refuses another; a wrong passphrase is tried. Everything the processes print
after `init`, every HTTP request they send and every file they write is then searched for the
seed, the entropy, the mnemonic's words in order and every private key derived along the way
(raw hex, WIF, extended keys), and the keystore file for any of them in plain text.
"""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from embit import bip32, bip39
from embit.networks import NETWORKS
from tests.integration.signer.test_signer_opens_no_port import signer_env
from tests.support.fake_coordinator import FakeCoordinator
from tests.support.signer_templates import BOB_SCRIPT, Out, path, standard_case

from custody.chains import base58

PASSPHRASE = "process passphrase"


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


def test_no_key_material_in_any_output(tmp_path: Path) -> None:
    fake = FakeCoordinator()
    with fake.serve() as url:
        env = signer_env(tmp_path, url, fake.token)
        env["CUSTODY_SIGNER_LOG_LEVEL"] = "DEBUG"
        del env["CUSTODY_SIGNER_PASSPHRASE_FILE"]
        made = signer(env, "init", "--scrypt-n", "1024", stdin=f"{PASSPHRASE}\n{PASSPHRASE}\n")
        assert made.returncode == 0, made.stderr
        mnemonic = made.stdout.strip().splitlines()[-1].strip()
        words = mnemonic.split()
        assert len(words) == 24 and made.stdout.count(mnemonic) == 1  # shown once, at init

        root = bip32.HDKey.from_seed(bip39.mnemonic_to_seed(mnemonic))
        good = standard_case(root=root).template()
        bad_case = standard_case(root=root)
        bad_case.tid, bad_case.outputs[0] = "tpl-bad", Out(BOB_SCRIPT, 250_000_000)
        fake.add(good)
        fake.add(bad_case.template())
        env["CUSTODY_SIGNER_PASSPHRASE_FILE"] = str(tmp_path / "pass")
        (tmp_path / "pass").write_text(PASSPHRASE + "\n")
        outputs = [
            signer(env, "addresses", "LTC", "--count", "5", "--branch", "change"),
            signer(env, "run", "--once"),
        ]
        assert outputs[-1].returncode == 0, outputs[-1].stderr
        assert fake.templates[good.id].status == "signed"
        assert fake.templates["tpl-bad"].status == "rejected"

    for tid, template in (("good", good), ("bad", bad_case.template())):
        (tmp_path / f"{tid}.json").write_text(json.dumps(
            {"format": "custody-template/v1", "template": template.model_dump(mode="json")}))
        outputs.append(signer(env, "sign-file", str(tmp_path / f"{tid}.json"),
                              str(tmp_path / f"{tid}-out.json")))
    assert [o.returncode for o in outputs[2:]] == [0, 2]
    (tmp_path / "pass").write_text("the wrong passphrase\n")
    outputs.append(signer(env, "addresses", "LTC"))
    assert outputs[-1].returncode == 2
    assert '"level": "info"' in outputs[1].stderr  # the run logged, and its log is scanned

    used = {a.derivation_path for a in fake.pool.values()}
    used |= {c.path for c in standard_case(root=root).coins} | {path(1, i) for i in range(5)}
    secrets = secrets_of(mnemonic, used)
    assert len(secrets) > 100
    for n, out in enumerate(outputs):
        assert_no_secret(f"process {n} output", out.stdout + out.stderr, secrets, words)
    for method, where, body in fake.requests:
        assert_no_secret(f"{method} {where}", body.decode(), secrets, words)
    for written in tmp_path.iterdir():
        if written.is_file():
            assert_no_secret(written.name, written.read_text(errors="replace"), secrets, words)
    assert os.stat(tmp_path / "keystore.json").st_mode & 0o077 == 0
