"""Builders for Nano signer tests: keys, blocks and templates made WITHOUT the project's code.

Keys come from a SLIP-10 ed25519 derivation written out here (HMAC-SHA512, hardened steps) and
the test peer's libsodium Ed25519-Blake2b; blocks are hashed and signed by the peer's code. So
a template the signer accepts was not built by the signer's own understanding of Nano.
"""

import hashlib
import hmac
import json
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path

from bip_utils import Bip39SeedGenerator

from custody.contract.intent import public_key_hex
from custody.contract.templates import Template, TemplateKind
from custody.contract.withdrawals import Withdrawal
from testnodes.nano import codec, crypto
from tests.support.keys import EXCHANGE, OPERATORS
from tests.support.signer_templates import MNEMONIC, template, withdrawal

SEED = bytes(Bip39SeedGenerator(MNEMONIC).Generate())
XNO = 10**30
ZERO = bytes(32)
REPRESENTATIVE = codec.account_encode(crypto.public_key(hashlib.sha256(b"test rep").digest()))
STRANGER_REP = codec.account_encode(crypto.public_key(hashlib.sha256(b"other rep").digest()))
FORMAT = "custody-nano-template/v1"


def slip10_ed25519(seed: bytes, path: list[int]) -> bytes:
    """SLIP-10 ed25519 private key at a hardened path (indexes without the hardened bit)."""
    digest = hmac.new(b"ed25519 seed", seed, hashlib.sha512).digest()
    key, chain = digest[:32], digest[32:]
    for index in path:
        data = b"\x00" + key + (index + 0x8000_0000).to_bytes(4, "big")
        digest = hmac.new(chain, data, hashlib.sha512).digest()
        key, chain = digest[:32], digest[32:]
    return key


@cache
def private_key(index: int, seed: bytes = SEED) -> bytes:
    """Our private key at m/44'/165'/index'."""
    return slip10_ed25519(seed, [44, 165, index])


def public_key(index: int, seed: bytes = SEED) -> bytes:
    """Our public key at m/44'/165'/index'."""
    return crypto.public_key(private_key(index, seed))


def account(index: int) -> str:
    """Our account at m/44'/165'/index' (0 is the hot account, k+1 deposit account k)."""
    return codec.account_encode(public_key(index))


def path(index: int) -> str:
    """The derivation path text of account `index`."""
    return f"m/44'/165'/{index}'"


def foreign_account(label: str) -> str:
    """An account of somebody else."""
    return codec.account_encode(crypto.public_key(hashlib.sha256(label.encode()).digest()))


@dataclass(frozen=True)
class Block:
    """A state block as plain fields (hex upper, accounts as addresses)."""

    account: str
    previous: str
    representative: str
    balance: int
    link: str

    def hash(self) -> bytes:
        """The block hash by the peer's code."""
        return crypto.state_hash(
            codec.account_decode(self.account),
            bytes.fromhex(self.previous),
            codec.account_decode(self.representative),
            self.balance,
            bytes.fromhex(self.link),
        )

    def unsigned(self) -> dict[str, str]:
        """The template's form: no signature, no work."""
        return {
            "type": "state",
            "account": self.account,
            "previous": self.previous,
            "representative": self.representative,
            "balance": str(self.balance),
            "link": self.link,
        }

    def signed(self, key: bytes, work: int = 0x1234) -> dict[str, str]:
        """The full form, signed with `key`."""
        return {
            **self.unsigned(),
            "signature": codec.hex_upper(crypto.sign(key, self.hash())),
            "work": codec.work_hex(work),
        }

    def but(self, **changes: object) -> "Block":
        """A copy with some fields changed."""
        return replace(self, **changes)  # type: ignore[arg-type]


def key_hex(address: str) -> str:
    """The public key of an address as the link of a block."""
    return codec.hex_upper(codec.account_decode(address))


def opening(index: int, amount: int, source: str = "AB" * 32) -> Block:
    """An open block on our account `index` receiving `amount` from send `source`."""
    return Block(account(index), codec.hex_upper(ZERO), REPRESENTATIVE, amount, source)


@dataclass
class NanoCase:
    """One template: the block, its previous (signed), kind, withdrawals; tests alter copies."""

    block: Block
    previous: dict[str, str] | None
    subtype: str
    path: str
    kind: TemplateKind
    withdrawals: list[Withdrawal]
    tid: str = "tpl-nano-1"
    replaces: str | None = None
    txid: str | None = None

    def payload(self) -> str:
        """The payload JSON, as the watcher writes it."""
        tree = {
            "format": FORMAT,
            "subtype": self.subtype,
            "path": self.path,
            "block": self.block.unsigned(),
            "previous": self.previous,
            "work": "00000000deadbeef",
        }
        return json.dumps(tree, sort_keys=True, separators=(",", ":"))

    def template(self) -> Template:
        """The template as the coordinator hands it over."""
        txid = self.txid or codec.hex_upper(self.block.hash())
        return template(
            self.payload(), txid, self.withdrawals, tid=self.tid, currency="XNO",
            kind=self.kind, replaces=self.replaces,
        )


def hot_chain(balance: int) -> Block:
    """The hot account's frontier: an open holding `balance`."""
    return opening(0, balance)


def pay(
    destination: str, amount: int, *, prev: Block | None = None, wid: str = "w-1",
    approvers: int = 0, user: str = "user-1",
) -> NanoCase:
    """A withdrawal send from the hot account on top of `prev` (default: an open of 10 XNO)."""
    prev = prev or hot_chain(10 * XNO)
    block = Block(
        account(0), codec.hex_upper(prev.hash()), REPRESENTATIVE, prev.balance - amount,
        key_hex(destination),
    )
    w = withdrawal(wid, destination, amount, currency="XNO", user=user,
                   approvers=OPERATORS[:approvers])
    return NanoCase(block, prev.signed(private_key(0)), "send", path(0),
                    TemplateKind.WITHDRAWAL, [w])


def sweep(index: int, balance: int) -> NanoCase:
    """A sweep of deposit account `index` (path index+1) to the hot account."""
    prev = opening(index + 1, balance)
    block = Block(account(index + 1), codec.hex_upper(prev.hash()), REPRESENTATIVE, 0,
                  key_hex(account(0)))
    return NanoCase(block, prev.signed(private_key(index + 1)), "send", path(index + 1),
                    TemplateKind.SWEEP, [])


def receive_open(index: int, amount: int) -> NanoCase:
    """An open block pocketing a deposit on deposit account `index`."""
    block = opening(index + 1, amount)
    return NanoCase(block, None, "open", path(index + 1), TemplateKind.RECEIVE, [])


POLICY = """\
exchange_key = "{exchange}"

[currencies.XNO]
family = "nano"
network = "nano-dev"
representative = "{representative}"
max_fee = "0"
max_fee_rate = "0"
max_per_withdrawal = "{max_per_withdrawal}"
max_per_day = "{max_per_day}"

[[currencies.XNO.approvals]]
up_to = "{one}"
required = 0

[[currencies.XNO.approvals]]
required = 1
operators = ["{op0}", "{op1}", "{op2}"]
"""


def write_nano_policy(
    directory: Path, *, max_per_withdrawal: int = 100 * XNO, max_per_day: int = 1000 * XNO
) -> Path:
    """XNO on nano-dev: up to 1 XNO automatic, above it one of three operators."""
    ops = {f"op{i}": public_key_hex(k) for i, k in enumerate(OPERATORS)}
    target = directory / "policy.toml"
    target.write_text(
        POLICY.format(
            exchange=public_key_hex(EXCHANGE), representative=REPRESENTATIVE,
            max_per_withdrawal=max_per_withdrawal, max_per_day=max_per_day, one=XNO, **ops,
        )
    )
    return target
