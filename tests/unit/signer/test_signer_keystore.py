"""Keystore: scrypt + AES-256-GCM at rest, mode 0600, one clear error for any failure to unlock."""

import json
import os
import stat
from pathlib import Path

import pytest
from bip_utils import Bip39MnemonicDecoder, Bip39SeedGenerator

from custody.signer import keystore
from custody.signer.errors import KeystoreError
from tests.support.signer_templates import MNEMONIC

FAST = keystore.MIN_SCRYPT_N  # tests only; the file records it
PASS = "correct horse battery staple"


@pytest.fixture
def store(tmp_path: Path) -> Path:
    path = tmp_path / "keys" / "keystore.json"
    keystore.create(path, MNEMONIC, PASS, scrypt_n=FAST)
    return path


def test_round_trip_gives_the_bip39_seed(store: Path) -> None:
    unlocked = keystore.unlock(store, PASS)
    assert unlocked.seed == bytes(Bip39SeedGenerator(MNEMONIC).Generate())
    assert unlocked.fingerprint == "73c5da0a" == keystore.read_fingerprint(store)
    assert unlocked.seed.hex() not in repr(unlocked)


def test_file_is_private_and_records_its_parameters(store: Path) -> None:
    assert stat.S_IMODE(store.stat().st_mode) == 0o600
    document = json.loads(store.read_text())
    assert document["format"] == "custody-keystore/v1"
    assert document["kdf"]["name"] == "scrypt"
    assert (document["kdf"]["n"], document["kdf"]["r"], document["kdf"]["p"]) == (FAST, 8, 1)
    assert document["cipher"]["name"] == "aes-256-gcm"


def test_file_holds_no_plaintext_secret(store: Path) -> None:
    text = store.read_text()
    entropy = bytes(Bip39MnemonicDecoder().Decode(MNEMONIC))
    seed = bytes(Bip39SeedGenerator(MNEMONIC).Generate())
    for secret in (entropy.hex(), seed.hex(), "abandon", PASS):
        assert secret not in text


def test_default_cost_is_production_strength() -> None:
    assert keystore.DEFAULT_SCRYPT_N >= 2**15


def test_wrong_passphrase(store: Path) -> None:
    with pytest.raises(KeystoreError, match="wrong passphrase or damaged file"):
        keystore.unlock(store, "not the passphrase")


def _edit(path: Path, change: "dict[str, object]") -> None:
    document = json.loads(path.read_text())
    for dotted, value in change.items():
        *parents, leaf = dotted.split(".")
        target = document
        for p in parents:
            target = target[p]
        target[leaf] = value
    path.write_text(json.dumps(document))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"kdf.n": 2048}, "wrong passphrase or damaged file"),  # authenticated header
        ({"fingerprint": "00000000"}, "wrong passphrase or damaged file"),
        ({"kdf.n": 2**30}, "scrypt parameters out of range"),
        ({"kdf.n": 1000}, "scrypt parameters out of range"),
        ({"cipher.name": "rot13"}, "damaged"),
        ({"ciphertext": "zz"}, "damaged"),
        ({"format": "something-else"}, "damaged"),
    ],
)
def test_damaged_file(store: Path, change: "dict[str, object]", message: str) -> None:
    _edit(store, change)
    with pytest.raises(KeystoreError, match=message):
        keystore.unlock(store, PASS)


def test_flipped_ciphertext_bit(store: Path) -> None:
    document = json.loads(store.read_text())
    sealed = bytearray(bytes.fromhex(document["ciphertext"]))
    sealed[3] ^= 1
    _edit(store, {"ciphertext": sealed.hex()})
    with pytest.raises(KeystoreError, match="wrong passphrase or damaged file"):
        keystore.unlock(store, PASS)


@pytest.mark.parametrize("content", [b"", b"{", b"[]", b"\xff\xfe", b'{"format": 1}'])
def test_garbage_file(store: Path, content: bytes) -> None:
    store.write_bytes(content)
    with pytest.raises(KeystoreError, match="damaged"):
        keystore.unlock(store, PASS)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(KeystoreError, match="no keystore"):
        keystore.unlock(tmp_path / "nope.json", PASS)


def test_file_readable_by_others_is_refused(store: Path) -> None:
    os.chmod(store, 0o644)
    with pytest.raises(KeystoreError, match="chmod 600"):
        keystore.unlock(store, PASS)


def test_never_overwrites(store: Path) -> None:
    before = store.read_bytes()
    with pytest.raises(KeystoreError, match="exists already"):
        keystore.create(store, keystore.new_mnemonic(), PASS, scrypt_n=FAST)
    assert store.read_bytes() == before


def test_short_passphrase(tmp_path: Path) -> None:
    with pytest.raises(KeystoreError, match="at least 8"):
        keystore.create(tmp_path / "k.json", MNEMONIC, "short", scrypt_n=FAST)


@pytest.mark.parametrize(
    "mnemonic", [" ".join(["abandon"] * 12), "abandon zebra", "", "abandon " * 11 + "aboutt"]
)
def test_invalid_mnemonic_is_reported_without_its_words(tmp_path: Path, mnemonic: str) -> None:
    with pytest.raises(KeystoreError) as error:
        keystore.create(tmp_path / "k.json", mnemonic, PASS, scrypt_n=FAST)
    assert str(error.value) == "the mnemonic is not a valid BIP39 English mnemonic"
    assert error.value.__cause__ is None and error.value.__suppress_context__


def test_new_mnemonics_are_valid_and_distinct() -> None:
    words = [keystore.new_mnemonic(n) for n in (12, 24, 24)]
    assert [len(w.split()) for w in words] == [12, 24, 24]
    assert len(set(words)) == 3
    for w in words:
        keystore.mnemonic_entropy(w)
    with pytest.raises(KeystoreError):
        keystore.new_mnemonic(13)


def test_mnemonic_is_normalized(tmp_path: Path) -> None:
    messy = "  " + MNEMONIC.upper().replace(" ", "  \t") + "\n"
    assert keystore.create(tmp_path / "k.json", messy, PASS, scrypt_n=FAST) == "73c5da0a"
