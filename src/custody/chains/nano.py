"""Nano (XNO) chain knowledge: accounts, state blocks and their hash, proof of work, units.

No I/O. Every formula here is pinned by the published vectors in tests/vectors/nano.json:
- account = "nano_" + base32(4 zero bits + public key) + base32(reverse(blake2b-40(key)));
  "xrb_" names the same account;
- block hash = blake2b-256(31 zero bytes + 0x06 || account || previous || representative ||
  balance as 16 bytes big-endian || link); the signature and the work are not in it;
- work value = uint64 little-endian of blake2b-64(work as 8 bytes little-endian || root), the
  root being `previous`, or the account key for an open block (previous zero).
"""

import hashlib
import re
from dataclasses import dataclass, field, replace
from typing import Any

from custody.chains.errors import AddressError, UnknownNetworkError

DECIMALS = 30
RAW_PER_XNO = 10**DECIMALS
MAX_BALANCE = 2**128 - 1
ZERO = bytes(32)
STATE_PREAMBLE = bytes(31) + b"\x06"  # block_type::state, left-padded to 32 bytes
BLOCK_SIZE = 32 + 32 + 32 + 16 + 32 + 64 + 8  # the node's binary state block

ALPHABET = "13456789abcdefghijkmnopqrstuwxyz"
_VALUES = {c: i for i, c in enumerate(ALPHABET)}
_ACCOUNT = re.compile(r"(nano|xrb)_[13][13456789abcdefghijkmnopqrstuwxyz]{59}")
_HEX64 = re.compile(r"[0-9A-F]{64}")
_HEX128 = re.compile(r"[0-9A-F]{128}")
_WORK = re.compile(r"[0-9a-f]{16}")
_DECIMAL = re.compile(r"0|[1-9][0-9]{0,38}")

# Subtypes as `process` names them; an open block is a receive that starts an account.
SEND, RECEIVE, OPEN, CHANGE, EPOCH = "send", "receive", "open", "change", "epoch"
SUBTYPES = (SEND, RECEIVE, OPEN, CHANGE, EPOCH)


@dataclass(frozen=True)
class Thresholds:
    """Work thresholds of a network for epoch-2 accounts (nano/lib/config.cpp)."""

    send: int  # send and change blocks (epoch_2)
    receive: int  # receive, open and epoch blocks (epoch_2_receive)
    epoch_1: int  # every block of an epoch-0/1 account
    entry: int  # below this `process` answers "Block work is less than threshold"

    def for_subtype(self, subtype: str) -> int:
        """The threshold a block of `subtype` must reach on an epoch-2 account."""
        if subtype not in SUBTYPES:
            raise ValueError(f"unknown block subtype {subtype!r}")
        return self.send if subtype in (SEND, CHANGE) else self.receive


@dataclass(frozen=True)
class NanoNetwork:
    """One Nano network: its name here and its work thresholds."""

    name: str
    thresholds: Thresholds


NETWORKS: dict[str, NanoNetwork] = {
    "nano-live": NanoNetwork(
        "nano-live",
        Thresholds(
            send=0xFFFFFFF800000000,
            receive=0xFFFFFE0000000000,
            epoch_1=0xFFFFFFC000000000,
            entry=0xFFFFFE0000000000,
        ),
    ),
    # The dev network ("very low for tests"); the project's test peer runs with these.
    "nano-dev": NanoNetwork(
        "nano-dev",
        Thresholds(
            send=0xFFC0000000000000,
            receive=0xF000000000000000,
            epoch_1=0xFE00000000000000,
            entry=0xF000000000000000,
        ),
    ),
}


def network(name: str) -> NanoNetwork:
    """The network called `name`, or UnknownNetworkError listing the known ones."""
    try:
        return NETWORKS[name]
    except KeyError:
        known = ", ".join(NETWORKS)
        raise UnknownNetworkError(f"unknown nano network {name!r} (known: {known})") from None


# -- accounts ---------------------------------------------------------------------------------


def _checksum(public_key: bytes) -> bytes:
    return hashlib.blake2b(public_key, digest_size=5).digest()[::-1]


def _base32(value: int, chars: int) -> str:
    return "".join(ALPHABET[(value >> (5 * i)) & 31] for i in reversed(range(chars)))


def encode_account(public_key: bytes, prefix: str = "nano_") -> str:
    """The account address of a 32-byte public key."""
    if len(public_key) != 32:
        raise AddressError(f"a nano public key is 32 bytes, not {len(public_key)}")
    if prefix not in ("nano_", "xrb_"):
        raise AddressError(f"unknown nano address prefix {prefix!r}")
    key = _base32(int.from_bytes(public_key, "big"), 52)  # 4 zero bits + 256 bits
    return prefix + key + _base32(int.from_bytes(_checksum(public_key), "big"), 8)


def decode_account(address: str) -> bytes:
    """The public key of a `nano_` or `xrb_` address; AddressError if malformed or mistyped."""
    if not _ACCOUNT.fullmatch(address):
        raise AddressError("a nano address is nano_ or xrb_ and 60 characters of the nano alphabet")
    body = address.split("_", 1)[1]
    value = 0
    for char in body[:52]:
        value = (value << 5) | _VALUES[char]
    public_key = value.to_bytes(32, "big")  # the leading [13] keeps value below 2^256
    checksum = 0
    for char in body[52:]:
        checksum = (checksum << 5) | _VALUES[char]
    if checksum.to_bytes(5, "big") != _checksum(public_key):
        raise AddressError("nano address checksum mismatch (mistyped address)")
    return public_key


def validate_address(net_name: str, address: str) -> str:
    """Check an address for network `net_name`; return it in the `nano_` form.

    Every Nano network uses the same address format: an account is valid on all of them.
    """
    network(net_name)
    return encode_account(decode_account(address))


# -- blocks -------------------------------------------------------------------------------------


def state_hash(
    account: bytes, previous: bytes, representative: bytes, balance: int, link: bytes
) -> bytes:
    """The 32-byte hash of a state block (signature and work are not part of it)."""
    if not 0 <= balance <= MAX_BALANCE:
        raise ValueError("balance out of range [0, 2^128)")
    digest = hashlib.blake2b(digest_size=32)
    for part in (STATE_PREAMBLE, account, previous, representative):
        digest.update(part)
    digest.update(balance.to_bytes(16, "big"))
    digest.update(link)
    return digest.digest()


def work_root(account: bytes, previous: bytes) -> bytes:
    """What the work of a block is computed over: previous, or the account for an open."""
    return account if previous == ZERO else previous


def work_value(work: int, root: bytes) -> int:
    """The difficulty a work nonce reaches over `root` (compare it with a threshold)."""
    digest = hashlib.blake2b(work.to_bytes(8, "little") + root, digest_size=8).digest()
    return int.from_bytes(digest, "little")


def work_hex(work: int) -> str:
    """The JSON form of a work nonce: 16 lower-case hex digits, big-endian."""
    return f"{work:016x}"


@dataclass(frozen=True)
class StateBlock:
    """A state block. Keys and hashes are 32 raw bytes, balance in raw; signature and work are
    optional (a template's block has neither; the work is attached after signing)."""

    account: bytes
    previous: bytes
    representative: bytes
    balance: int
    link: bytes
    signature: bytes | None = None
    work: int | None = None
    hash: bytes = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        for name in ("account", "previous", "representative", "link"):
            if len(getattr(self, name)) != 32:
                raise ValueError(f"{name} must be 32 bytes")
        if self.signature is not None and len(self.signature) != 64:
            raise ValueError("signature must be 64 bytes")
        if self.work is not None and not 0 <= self.work < 2**64:
            raise ValueError("work must be a uint64")
        digest = state_hash(
            self.account, self.previous, self.representative, self.balance, self.link
        )
        object.__setattr__(self, "hash", digest)  # frozen: computed once

    @property
    def is_open(self) -> bool:
        """The first block of its account (previous zero)."""
        return self.previous == ZERO

    @property
    def root(self) -> bytes:
        """The work root of this block."""
        return work_root(self.account, self.previous)

    @property
    def hash_hex(self) -> str:
        """The hash as the node prints it: 64 upper-case hex digits."""
        return self.hash.hex().upper()

    def with_signature(self, signature: bytes) -> "StateBlock":
        """The same block with a signature (the hash does not change)."""
        return replace(self, signature=signature)

    def with_work(self, work: int) -> "StateBlock":
        """The same block with a work nonce (the hash does not change)."""
        return replace(self, work=work)

    def to_json(self) -> dict[str, str]:
        """The node's JSON form; signature and work only when present."""
        tree = {
            "type": "state",
            "account": encode_account(self.account),
            "previous": self.previous.hex().upper(),
            "representative": encode_account(self.representative),
            "balance": str(self.balance),
            "link": self.link.hex().upper(),
        }
        if self.signature is not None:
            tree["signature"] = self.signature.hex().upper()
        if self.work is not None:
            tree["work"] = work_hex(self.work)
        return tree

    def to_bytes(self) -> bytes:
        """The node's binary form (216 bytes); a missing signature or work is zeros."""
        return b"".join(
            (
                self.account,
                self.previous,
                self.representative,
                self.balance.to_bytes(16, "big"),
                self.link,
                self.signature or bytes(64),
                (self.work or 0).to_bytes(8, "big"),
            )
        )


def block_from_bytes(data: bytes) -> StateBlock:
    """Parse the 216-byte binary form; an all-zero signature or work reads as absent."""
    if len(data) != BLOCK_SIZE:
        raise ValueError(f"a binary state block is {BLOCK_SIZE} bytes, not {len(data)}")
    signature, work = data[144:208], int.from_bytes(data[208:216], "big")
    return StateBlock(
        account=data[0:32],
        previous=data[32:64],
        representative=data[64:96],
        balance=int.from_bytes(data[96:112], "big"),
        link=data[112:144],
        signature=signature if any(signature) else None,
        work=work or None,
    )


_FIELDS = ("type", "account", "previous", "representative", "balance", "link")


def block_from_json(tree: Any, *, signed: bool) -> StateBlock:
    """Parse a block in the project's strict form: full-length upper-case hex, `nano_` or `xrb_`
    accounts with valid checksums, a decimal balance without leading zeros. With `signed`, the
    signature and the work must be there; without it they must not. ValueError otherwise."""
    if not isinstance(tree, dict):
        raise ValueError("a block must be a JSON object")
    expected = set(_FIELDS) | ({"signature", "work"} if signed else set())
    allowed = expected | {"link_as_account"}  # the node adds it to what it prints
    if not expected <= set(tree) <= allowed:
        raise ValueError(f"a block has exactly the fields {', '.join(sorted(expected))}")
    if not all(isinstance(v, str) for v in tree.values()) or tree["type"] != "state":
        raise ValueError("a block is a state block with string fields")
    block = StateBlock(
        account=_account(tree["account"]),
        previous=_hex(tree["previous"], _HEX64, "previous"),
        representative=_account(tree["representative"]),
        balance=_balance(tree["balance"]),
        link=_hex(tree["link"], _HEX64, "link"),
        signature=_hex(tree["signature"], _HEX128, "signature") if signed else None,
        work=int(_work(tree["work"]), 16) if signed else None,
    )
    if "link_as_account" in tree and _account(tree["link_as_account"]) != block.link:
        raise ValueError("link_as_account is not the link")
    return block


def _account(text: str) -> bytes:
    try:
        return decode_account(text)
    except AddressError as e:
        raise ValueError(str(e)) from e


def _hex(text: str, pattern: re.Pattern[str], name: str) -> bytes:
    if not pattern.fullmatch(text):
        raise ValueError(f"{name} must be upper-case hex of full length")
    return bytes.fromhex(text)


def _work(text: str) -> str:
    if not _WORK.fullmatch(text):
        raise ValueError("work must be 16 lower-case hex digits")
    return text


def _balance(text: str) -> int:
    if not _DECIMAL.fullmatch(text) or int(text) > MAX_BALANCE:
        raise ValueError("balance must be a decimal raw amount below 2^128, no leading zeros")
    return int(text)


def subtype_of(block: StateBlock, previous_balance: int | None) -> str:
    """What a block does, as the ledger decides it (previous_balance None for an open block):
    less balance is a send; more is a receive (open if first); the same with a zero link is a
    change, with another link an epoch block."""
    if block.is_open:
        return OPEN
    if previous_balance is None:
        raise ValueError("a block that is not an open needs its previous balance")
    if block.balance < previous_balance:
        return SEND
    if block.balance > previous_balance:
        return RECEIVE
    return CHANGE if block.link == ZERO else EPOCH
