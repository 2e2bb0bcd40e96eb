"""The encrypted keystore: a BIP39 seed under scrypt + AES-256-GCM, in a 0600 JSON file."""

import hashlib
import json
import os
import secrets
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bip_utils import (
    Bip32Secp256k1,
    Bip39MnemonicDecoder,
    Bip39MnemonicEncoder,
    Bip39SeedGenerator,
    MnemonicChecksumError,
)
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from custody.signer.errors import KeystoreError

FORMAT = "custody-keystore/v1"
CIPHER = "aes-256-gcm"
# Production cost: 32 MiB and ~0.1 s per unlock. Lower values exist for tests only, and the
# file records what was used, so a test keystore can never pass for a production one unseen.
DEFAULT_SCRYPT_N = 2**15
MIN_SCRYPT_N = 2**10
MAX_SCRYPT_N = 2**20
SCRYPT_R = 8
SCRYPT_P = 1
MIN_PASSPHRASE = 8
_ENTROPY_SIZES = (16, 20, 24, 28, 32)


@dataclass(frozen=True)
class ScryptParams:
    """The KDF parameters recorded in the file; salt is random per keystore."""

    n: int
    r: int
    p: int
    salt: bytes

    def derive(self, passphrase: str) -> bytes:
        """The 32-byte AES key for `passphrase`."""
        maxmem = 128 * self.r * (self.n + self.p + 2) + (1 << 20)
        return hashlib.scrypt(
            passphrase.encode("utf-8"),
            salt=self.salt,
            n=self.n,
            r=self.r,
            p=self.p,
            maxmem=maxmem,
            dklen=32,
        )


@dataclass(frozen=True)
class Unlocked:
    """The unlocked seed. Never logged or printed: repr shows the public fingerprint only."""

    fingerprint: str
    seed: bytes

    def __repr__(self) -> str:
        return f"Unlocked(fingerprint={self.fingerprint!r})"


def new_mnemonic(words: int = 24) -> str:
    """A fresh BIP39 English mnemonic from the operating system's random source."""
    size = {12: 16, 15: 20, 18: 24, 21: 28, 24: 32}.get(words)
    if size is None:
        raise KeystoreError("a mnemonic has 12, 15, 18, 21 or 24 words")
    return str(Bip39MnemonicEncoder().Encode(secrets.token_bytes(size)))


def mnemonic_entropy(mnemonic: str) -> bytes:
    """The entropy behind a mnemonic; any problem is reported without echoing the words."""
    normalized = " ".join(mnemonic.lower().split())
    try:
        entropy = bytes(Bip39MnemonicDecoder().Decode(normalized))
    except (ValueError, MnemonicChecksumError):
        # `from None`: the library's message may quote the words.
        raise KeystoreError("the mnemonic is not a valid BIP39 English mnemonic") from None
    return entropy


def _seed_and_fingerprint(entropy: bytes) -> tuple[bytes, str]:
    mnemonic = str(Bip39MnemonicEncoder().Encode(entropy))
    seed = bytes(Bip39SeedGenerator(mnemonic).Generate())
    fingerprint = bytes(Bip32Secp256k1.FromSeed(seed).FingerPrint().ToBytes()).hex()
    return seed, fingerprint


def _header(params: ScryptParams, nonce: bytes, fingerprint: str) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "kdf": {
            "name": "scrypt",
            "n": params.n,
            "r": params.r,
            "p": params.p,
            "salt": params.salt.hex(),
        },
        "cipher": {"name": CIPHER, "nonce": nonce.hex()},
        "fingerprint": fingerprint,
    }


def _aad(header: dict[str, Any]) -> bytes:
    # The whole header is authenticated: lowering the KDF cost or swapping the fingerprint
    # in the file breaks decryption instead of going unnoticed.
    return json.dumps(header, sort_keys=True, separators=(",", ":")).encode("ascii")


def create(path: Path, mnemonic: str, passphrase: str, *, scrypt_n: int = DEFAULT_SCRYPT_N) -> str:
    """Encrypt the mnemonic's entropy into a new keystore file; returns the master fingerprint."""
    if len(passphrase) < MIN_PASSPHRASE:
        raise KeystoreError(f"the passphrase must have at least {MIN_PASSPHRASE} characters")
    _check_cost(scrypt_n, SCRYPT_R, SCRYPT_P)
    if path.exists():
        raise KeystoreError(f"{path} exists already; refusing to overwrite a keystore")
    entropy = mnemonic_entropy(mnemonic)
    _, fingerprint = _seed_and_fingerprint(entropy)
    params = ScryptParams(scrypt_n, SCRYPT_R, SCRYPT_P, secrets.token_bytes(16))
    nonce = secrets.token_bytes(12)
    header = _header(params, nonce, fingerprint)
    sealed = AESGCM(params.derive(passphrase)).encrypt(nonce, entropy, _aad(header))
    document = {**header, "ciphertext": sealed.hex()}
    _write_new(path, json.dumps(document, indent=2).encode("ascii") + b"\n")
    return fingerprint


def _write_new(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise KeystoreError(f"{path} exists already; refusing to overwrite a keystore") from None
    except OSError as e:
        raise KeystoreError(f"cannot create {path}: {e.strerror}") from e
    with os.fdopen(fd, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def read_fingerprint(path: Path) -> str:
    """The master fingerprint recorded in the file (public; no passphrase needed)."""
    header, _ = _read(path)
    return str(header["fingerprint"])


def unlock(path: Path, passphrase: str) -> Unlocked:
    """Decrypt the keystore. Wrong passphrase and damaged file end in one KeystoreError."""
    header, sealed = _read(path)
    kdf = header["kdf"]
    params = ScryptParams(kdf["n"], kdf["r"], kdf["p"], bytes.fromhex(kdf["salt"]))
    nonce = bytes.fromhex(header["cipher"]["nonce"])
    try:
        entropy = AESGCM(params.derive(passphrase)).decrypt(nonce, sealed, _aad(header))
    except InvalidTag:
        raise KeystoreError(f"cannot unlock {path}: wrong passphrase or damaged file") from None
    if len(entropy) not in _ENTROPY_SIZES:
        raise KeystoreError(f"cannot unlock {path}: damaged file (bad seed length)")
    seed, fingerprint = _seed_and_fingerprint(entropy)
    if fingerprint != header["fingerprint"]:
        raise KeystoreError(f"cannot unlock {path}: damaged file (fingerprint differs)")
    return Unlocked(fingerprint=fingerprint, seed=seed)


def _read(path: Path) -> tuple[dict[str, Any], bytes]:
    try:
        mode = path.stat().st_mode
        raw = path.read_bytes()
    except FileNotFoundError:
        raise KeystoreError(f"no keystore at {path}: run `custody signer init`") from None
    except OSError as e:
        raise KeystoreError(f"cannot read keystore {path}: {e.strerror}") from e
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise KeystoreError(f"keystore {path} is accessible to others: chmod 600 it")
    try:
        document = json.loads(raw)
        header = {k: document[k] for k in ("format", "kdf", "cipher", "fingerprint")}
        sealed = bytes.fromhex(document["ciphertext"])
        _check_header(header)
    except (ValueError, KeyError, TypeError):
        raise KeystoreError(f"keystore {path} is damaged: not a {FORMAT} file") from None
    return header, sealed


def _check_header(header: dict[str, Any]) -> None:
    kdf, cipher = header["kdf"], header["cipher"]
    if header["format"] != FORMAT or kdf["name"] != "scrypt" or cipher["name"] != CIPHER:
        raise ValueError("unknown format")
    if not all(isinstance(kdf[k], int) for k in ("n", "r", "p")):
        raise ValueError("bad kdf parameters")
    _check_cost(kdf["n"], kdf["r"], kdf["p"])
    if len(bytes.fromhex(kdf["salt"])) < 16 or len(bytes.fromhex(cipher["nonce"])) != 12:
        raise ValueError("bad salt or nonce")
    if len(bytes.fromhex(header["fingerprint"])) != 4:
        raise ValueError("bad fingerprint")


def _check_cost(n: int, r: int, p: int) -> None:
    # Bounds keep a damaged or hostile file from asking for gigabytes of memory.
    if n < MIN_SCRYPT_N or n > MAX_SCRYPT_N or n & (n - 1) or not 1 <= r <= 32 or not 1 <= p <= 16:
        raise KeystoreError(
            f"scrypt parameters out of range (n a power of two in "
            f"[{MIN_SCRYPT_N}, {MAX_SCRYPT_N}], r 1..32, p 1..16)"
        )
