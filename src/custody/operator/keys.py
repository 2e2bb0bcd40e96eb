"""The operator's Ed25519 key file: PKCS#8 PEM, mode 0600, never printed."""

import os
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    load_pem_private_key,
)


class KeyFileError(ValueError):
    """The key file is missing, unreadable or not an Ed25519 key."""


def create(path: Path) -> Ed25519PrivateKey:
    """Write a new key; refuses to overwrite an existing file."""
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError as e:
        raise KeyFileError(f"{path} exists; not overwriting a key") from e
    except OSError as e:
        raise KeyFileError(f"cannot write {path}: {e.strerror}") from e
    with os.fdopen(fd, "wb") as out:
        out.write(pem)
    return key


def load(path: Path) -> Ed25519PrivateKey:
    """Read the key."""
    try:
        data = path.read_bytes()
    except OSError as e:
        raise KeyFileError(f"cannot read key file {path}: {e.strerror}") from e
    try:
        key = load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as e:
        raise KeyFileError(f"{path} holds no unencrypted PEM private key") from e
    if not isinstance(key, Ed25519PrivateKey):
        raise KeyFileError(f"{path} holds a key that is not Ed25519")
    return key
