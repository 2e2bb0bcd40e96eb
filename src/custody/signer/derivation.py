"""Key derivation from the seed: BIP32 paths per chain family, the path kept beside every key."""

from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import IntEnum

import coincurve
from bip_utils import Bip32Secp256k1, Bip32Slip10Ed25519Blake2b

from custody.contract.addresses import AddressBranch
from custody.contract.currencies import ChainFamily

HARDENED = 0x8000_0000
MAX_INDEX = HARDENED - 1


class Branch(IntEnum):
    """BIP44-style chain: 0 external (deposit addresses), 1 internal (our own change)."""

    RECEIVE = 0
    CHANGE = 1
    # Not a BIP44 chain: the one hot account of a family that has one (Nano's m/44'/165'/0').
    HOT = 2

    @property
    def pool_branch(self) -> AddressBranch:
        """The branch name the coordinator's pool uses."""
        if self is Branch.HOT:
            return AddressBranch.HOT
        return AddressBranch.RECEIVE if self is Branch.RECEIVE else AddressBranch.CHANGE


@dataclass(frozen=True)
class Scheme:
    """How one chain family lays out its keys: purpose' / coin' / account' / branch / index."""

    purpose: int
    curve: str


# BIP84 (P2WPKH) for Bitcoin and Litecoin. Ethereum (BIP44, m/44'/60'/0'/0/i, secp256k1) and
# Nano (SLIP-10, m/44'/165'/i', ed25519) get their entries with their signers.
SCHEMES: dict[ChainFamily, Scheme] = {ChainFamily.BITCOIN: Scheme(purpose=84, curve="secp256k1")}
# Nano: SLIP-10 ed25519-blake2b, every step hardened (custody.signer.chains.nano lays out i).
SCHEMES[ChainFamily.NANO] = Scheme(purpose=44, curve="ed25519-blake2b")
# Ethereum: BIP44 m/44'/60'/account'/0/i on every network (as wallets do), one account per
# currency; its hot wallet is m/44'/60'/account'/2/0 (custody.signer.chains.ethereum).
SCHEMES[ChainFamily.ETHEREUM] = Scheme(purpose=44, curve="secp256k1")


def format_path(path: Sequence[int]) -> str:
    """m/84'/1'/0'/0/5 notation."""
    parts = [f"{i - HARDENED}'" if i >= HARDENED else str(i) for i in path]
    return "/".join(["m", *parts])


def parse_path(text: str) -> tuple[int, ...]:
    """The inverse of format_path; accepts ' or h for hardened. ValueError if malformed."""
    head, *parts = text.split("/")
    if head != "m":
        raise ValueError(f"derivation path must start with m/: {text!r}")
    path = []
    for part in parts:
        hardened = part.endswith(("'", "h"))
        digits = part[:-1] if hardened else part
        if not digits.isdigit() or int(digits) > MAX_INDEX:
            raise ValueError(f"bad derivation path element {part!r}")
        path.append(int(digits) + (HARDENED if hardened else 0))
    return tuple(path)


@dataclass(frozen=True)
class Account:
    """One account of a scheme on one coin: m/purpose'/coin'/account'."""

    purpose: int
    coin_type: int
    account: int = 0

    @property
    def prefix(self) -> tuple[int, int, int]:
        """The hardened part of every path in this account."""
        return (self.purpose + HARDENED, self.coin_type + HARDENED, self.account + HARDENED)

    def path(self, branch: Branch, index: int) -> tuple[int, ...]:
        """The full path of key `index` on `branch`."""
        if not 0 <= index <= MAX_INDEX:
            raise ValueError(f"address index {index} out of range")
        return (*self.prefix, int(branch), index)

    def locate(self, path: Sequence[int]) -> tuple[Branch, int]:
        """(branch, index) of a path in this account; ValueError for any other path."""
        if len(path) != 5 or tuple(path[:3]) != self.prefix:
            raise ValueError(
                f"path {format_path(path)} is not in account {format_path(self.prefix)}"
            )
        if path[3] not in (Branch.RECEIVE, Branch.CHANGE) or path[4] > MAX_INDEX:
            raise ValueError(f"path {format_path(path)} has no receive/change branch and index")
        return Branch(path[3]), path[4]


@dataclass(frozen=True)
class DerivedKey:
    """A key derived from our seed, with its path. The secret is never part of repr."""

    path: tuple[int, ...]
    public_key: bytes
    secret: bytes = field(repr=False)
    # Built once with the key: making a coincurve key costs as much as a signature.
    signing_key: coincurve.PrivateKey = field(repr=False, compare=False)

    @property
    def path_text(self) -> str:
        """The path in m/84'/... notation."""
        return format_path(self.path)


class KeyRing:
    """BIP32 secp256k1 keys from one seed; derived keys are cached, never taken from outside."""

    def __init__(self, seed: bytes, *, cache_size: int = 50_000):
        self._root = Bip32Secp256k1.FromSeed(seed)
        self.fingerprint: bytes = bytes(self._root.FingerPrint().ToBytes())
        self._parents: dict[tuple[int, ...], Bip32Secp256k1] = {}
        self._keys: OrderedDict[tuple[int, ...], DerivedKey] = OrderedDict()
        self._cache_size = cache_size
        # Nano's keys come from the same seed by SLIP-10 over ed25519-blake2b.
        self._ed25519_blake2b_root = Bip32Slip10Ed25519Blake2b.FromSeed(seed)
        self._ed25519_blake2b_parents: dict[tuple[int, ...], Bip32Slip10Ed25519Blake2b] = {}

    def __repr__(self) -> str:
        return f"KeyRing(fingerprint={self.fingerprint.hex()!r})"

    def derive(self, path: Sequence[int]) -> DerivedKey:
        """The key at `path` (private derivation from the seed)."""
        key = tuple(path)
        cached = self._keys.get(key)
        if cached is not None:
            self._keys.move_to_end(key)
            return cached
        node = self._parent(key[:-1]).ChildKey(key[-1]) if key else self._root
        secret = bytes(node.PrivateKey().Raw().ToBytes())
        derived = DerivedKey(
            path=key,
            public_key=bytes(node.PublicKey().RawCompressed().ToBytes()),
            secret=secret,
            signing_key=coincurve.PrivateKey(secret),
        )
        self._keys[key] = derived
        if len(self._keys) > self._cache_size:
            self._keys.popitem(last=False)
        return derived

    def derive_ed25519_blake2b(self, path: Sequence[int]) -> tuple[bytes, bytes]:
        """(private key, public key) at a SLIP-10 ed25519-blake2b path (Nano); every step must
        be hardened. Not cached here: the caller keeps the keys it uses often."""
        key = tuple(path)
        if not key or any(i < HARDENED for i in key):
            raise ValueError(f"SLIP-10 ed25519 paths are hardened only: {format_path(key)}")
        parent = self._ed25519_blake2b_parents.get(key[:-1])
        if parent is None:
            parent = self._ed25519_blake2b_root
            for index in key[:-1]:
                parent = parent.ChildKey(index)
            self._ed25519_blake2b_parents[key[:-1]] = parent
        node = parent.ChildKey(key[-1])
        # bip-utils prefixes ed25519 public keys with 0x00; the key itself is the last 32 bytes.
        public = bytes(node.PublicKey().RawCompressed().ToBytes())[-32:]
        return bytes(node.PrivateKey().Raw().ToBytes()), public

    def _parent(self, path: tuple[int, ...]) -> Bip32Secp256k1:
        # Branch nodes are few (two per account): derive each once, then only the last step.
        node = self._parents.get(path)
        if node is None:
            node = self._root
            for index in path:
                node = node.ChildKey(index)
            self._parents[path] = node
        return node
