"""Builders for signer tests: PSBTs, signed withdrawals, templates and a policy to check them by.

The PSBTs are made with embit, not with the signer's own code, over the BIP84 test account.
"""

import base64
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from embit import bip32, bip39, ec
from embit.psbt import PSBT, DerivationPath
from embit.script import Script
from embit.transaction import Transaction, TransactionInput, TransactionOutput

from custody.chains.bitcoin import address_from_script, hash160, network
from custody.contract.addresses import PoolAddress
from custody.contract.intent import approval_bytes, intent_bytes, public_key_hex, sign
from custody.contract.templates import Template, TemplateKind, TemplateStatus
from custody.contract.withdrawals import Approval, Withdrawal, WithdrawalIntent, WithdrawalState
from tests.support.keys import EXCHANGE, OPERATORS, secp_pubkey

# BIP84's own test mnemonic: its vectors pin our derivation, and it guards nothing of value.
MNEMONIC = " ".join(["abandon"] * 11 + ["about"])
ROOT = bip32.HDKey.from_seed(bip39.mnemonic_to_seed(MNEMONIC))
FINGERPRINT: bytes = ROOT.my_fingerprint
NET = network("ltc-regtest")
ONE = 100_000_000  # base units per LTC


def path(branch: int, index: int, coin: int = 1) -> str:
    """A BIP84 path of the test account (coin 1: every test network)."""
    return f"m/84'/{coin}'/0'/{branch}/{index}"


def pubkey(at: str, root: bip32.HDKey = ROOT) -> bytes:
    """The compressed public key at `at`, derived by embit."""
    return bytes(root.derive(at).key.get_public_key().sec())


def p2wpkh(pub: bytes) -> bytes:
    """The P2WPKH script of a public key."""
    return b"\x00\x14" + hash160(pub)


def address(script: bytes) -> str:
    """The ltc-regtest address of a script."""
    found = address_from_script(NET, script)
    assert found is not None
    return found


def foreign_script(label: str, kind: str = "p2wpkh") -> bytes:
    """A script paying somebody else, of any destination kind the signer pays."""
    digest = hashlib.sha256(label.encode()).digest()
    return {
        "p2wpkh": lambda: p2wpkh(secp_pubkey(label)),
        "p2pkh": lambda: b"\x76\xa9\x14" + digest[:20] + b"\x88\xac",
        "p2sh": lambda: b"\xa9\x14" + digest[:20] + b"\x87",
        "p2wsh": lambda: b"\x00\x20" + digest,
        "p2tr": lambda: b"\x51\x20" + secp_pubkey(label)[1:],
    }[kind]()


@dataclass(frozen=True)
class Coin:
    """A UTXO of the test account; `pays` overrides the key it pays (a coin that is not ours)."""

    path: str
    value: int
    salt: str = ""
    pays: bytes | None = None


@dataclass(frozen=True)
class Out:
    """An output; `origin` marks it as change on that path (the key origin the watcher adds)."""

    script: bytes
    value: int
    origin: str | None = None


def funding_tx(script: bytes, value: int, salt: str) -> Transaction:
    """A previous transaction paying `value` to `script`, unique per salt."""
    prev = hashlib.sha256(f"funding {salt}".encode()).digest()
    vin = [TransactionInput(prev, 0, sequence=0xFFFFFFFE)]
    return Transaction(version=2, vin=vin, vout=[TransactionOutput(value, Script(script))])


def origin(at: str, fingerprint: bytes = FINGERPRINT) -> DerivationPath:
    """A PSBT key origin for `at`."""
    return DerivationPath(fingerprint, bip32.parse_path(at))


def build_psbt(
    coins: Sequence[Coin],
    outputs: Sequence[Out],
    *,
    locktime: int = 0,
    sequence: int = 0xFFFFFFFD,
    root: bip32.HDKey = ROOT,
) -> PSBT:
    """A PSBT like the watcher makes: full previous txs, witness UTXOs, key origins."""
    fingerprint = root.my_fingerprint
    prevs = [
        funding_tx(p2wpkh(c.pays or pubkey(c.path, root)), c.value, f"{c.path}/{c.value}/{c.salt}")
        for c in coins
    ]
    vin = [TransactionInput(p.txid(), 0, sequence=sequence) for p in prevs]
    vout = [TransactionOutput(o.value, Script(o.script)) for o in outputs]
    psbt = PSBT(Transaction(version=2, vin=vin, vout=vout, locktime=locktime))
    for coin, prev, inp in zip(coins, prevs, psbt.inputs, strict=True):
        inp.unknown = {}  # embit shares its default dicts between scopes
        inp.non_witness_utxo = prev
        inp.witness_utxo = prev.vout[0]
        key = ec.PublicKey.parse(pubkey(coin.path, root))
        inp.bip32_derivations[key] = origin(coin.path, fingerprint)
    for out, scope in zip(outputs, psbt.outputs, strict=True):
        scope.unknown = {}
        if out.origin is not None:
            key = ec.PublicKey.parse(pubkey(out.origin, root))
            scope.bip32_derivations[key] = origin(out.origin, fingerprint)
    return psbt


def encode(psbt: PSBT) -> tuple[str, str]:
    """(base64 payload, txid) of a PSBT."""
    return psbt.to_base64(), psbt.tx.txid().hex()


def withdrawal(
    wid: str,
    destination: str,
    amount: int,
    *,
    currency: str = "LTC",
    signer: Ed25519PrivateKey = EXCHANGE,
    approvers: Sequence[Ed25519PrivateKey] = (),
    user: str = "user-1",
) -> Withdrawal:
    """A withdrawal whose intent the exchange (or `signer`) signed, with operator approvals."""
    intent = WithdrawalIntent(
        request_id=f"req-{wid}", user_id=user, currency=currency, amount=amount,
        destination=destination,
    )
    now = datetime(2024, 1, 1, tzinfo=UTC)
    approvals = [
        Approval(operator_key=public_key_hex(k), signature=sign(k, approval_bytes(intent)))
        for k in approvers
    ]
    return Withdrawal(
        id=wid, intent=intent, signature=sign(signer, intent_bytes(intent)), fee=0,
        state=WithdrawalState.IN_TEMPLATE, approvals=approvals, approvals_required=len(approvals),
        template_id=None, txid=None, failure_code=None, failure_reason=None,
        created_at=now, updated_at=now,
    )


def template(
    payload: str,
    txid: str | None,
    withdrawals: Sequence[Withdrawal],
    *,
    tid: str = "tpl-1",
    currency: str = "LTC",
    kind: TemplateKind = TemplateKind.WITHDRAWAL,
    replaces: str | None = None,
) -> Template:
    """An unsigned template as the coordinator hands it to the signer."""
    now = datetime(2024, 1, 1, tzinfo=UTC)
    return Template(
        id=tid, currency=currency, kind=kind, status=TemplateStatus.UNSIGNED, payload=payload,
        payload_hash=hashlib.sha256(payload.encode()).hexdigest(), txid=txid, replaces=replaces,
        withdrawals=list(withdrawals), signed_payload=None, rejection=None, failure=None,
        block_hash=None, block_height=None, created_at=now, updated_at=now,
    )


def raw_payload(raw: bytes) -> str:
    """Base64 of raw PSBT bytes (for byte-level tampering)."""
    return base64.b64encode(raw).decode()


POLICY_TOML = """\
exchange_key = "{exchange}"

[currencies.LTC]
family = "bitcoin"
network = "ltc-regtest"
max_fee = "{max_fee}"
max_fee_rate = "{max_fee_rate}"
max_per_withdrawal = "{max_per_withdrawal}"
max_per_day = "{max_per_day}"
{allowlist}
[[currencies.LTC.approvals]]
up_to = "100000000"
required = 0

[[currencies.LTC.approvals]]
up_to = "1000000000"
required = 1
operators = ["{op0}", "{op1}", "{op2}"]

[[currencies.LTC.approvals]]
required = 2
operators = ["{op0}", "{op1}", "{op2}"]
"""


def policy_text(
    *,
    max_fee: int = 100_000,
    max_fee_rate: int = 200,
    max_per_withdrawal: int = 20 * ONE,
    max_per_day: int = 50 * ONE,
    allowlist: Sequence[str] | None = None,
) -> str:
    """The test policy: LTC on regtest; 0, 1 and 2 of 3 operator approvals by amount."""
    listed = "" if allowlist is None else f"allowlist = {list(allowlist)!r}\n".replace("'", '"')
    ops = {f"op{i}": public_key_hex(k) for i, k in enumerate(OPERATORS)}
    return POLICY_TOML.format(
        exchange=public_key_hex(EXCHANGE), max_fee=max_fee, max_fee_rate=max_fee_rate,
        max_per_withdrawal=max_per_withdrawal, max_per_day=max_per_day, allowlist=listed, **ops,
    )


def write_policy(directory: Path, **overrides: object) -> Path:
    """Write the test policy to `directory`/policy.toml."""
    target = directory / "policy.toml"
    target.write_text(policy_text(**overrides))  # type: ignore[arg-type]
    return target


ALICE_SCRIPT = foreign_script("alice")
ALICE = address(ALICE_SCRIPT)
BOB_SCRIPT = foreign_script("bob")
BOB = address(BOB_SCRIPT)
FEE = 10_000


@dataclass
class Case:
    """Coins, outputs and withdrawals of one template; tests change a copy and build it."""

    coins: list[Coin]
    outputs: list[Out]
    withdrawals: list[Withdrawal]
    tid: str = "tpl-1"
    replaces: str | None = None
    kind: TemplateKind = TemplateKind.WITHDRAWAL
    root: bip32.HDKey = ROOT

    def psbt(self) -> PSBT:
        """The PSBT the watcher would make."""
        return build_psbt(self.coins, self.outputs, root=self.root)

    def template(self, psbt: PSBT | None = None, *, txid: str | None = None) -> Template:
        """The template, from this case's PSBT or a tampered one."""
        payload, real_txid = encode(psbt if psbt is not None else self.psbt())
        return template(payload, txid or real_txid, self.withdrawals, tid=self.tid,
                        replaces=self.replaces, kind=self.kind)


def change_out(index: int, value: int, branch: int = 1, root: bip32.HDKey = ROOT) -> Out:
    """An honest change output on `branch` (1 unless a test says otherwise)."""
    at = path(branch, index)
    return Out(p2wpkh(pubkey(at, root)), value, origin=at)


def standard_case(salt: str = "", root: bip32.HDKey = ROOT) -> Case:
    """Two of our coins (1.5 + 2 LTC) pay 2.5 LTC to Alice (one approval needed) and change."""
    return Case(
        coins=[Coin(path(0, 0), 150_000_000, salt), Coin(path(0, 1), 2 * ONE, salt)],
        outputs=[Out(ALICE_SCRIPT, 250_000_000), change_out(0, ONE - FEE, root=root)],
        withdrawals=[withdrawal("w1", ALICE, 250_000_000, approvers=[OPERATORS[0]])],
        root=root,
    )


def attach_origins(payload: str, pool: Sequence[PoolAddress]) -> str:
    """Play the watcher: replace the node's key origins with the pool's (fingerprint and path)
    on every input and on every output that pays a change address of the pool."""
    by_script = {p2wpkh(bytes.fromhex(a.public_key)): a for a in pool}
    psbt = PSBT.from_base64(payload)
    for inp in psbt.inputs:
        entry = by_script[bytes(inp.witness_utxo.script_pubkey.data)]
        inp.bip32_derivations = {_origin_key(entry): _pool_origin(entry)}
    for out in psbt.outputs:
        entry = by_script.get(bytes(out.script_pubkey.data))
        out.bip32_derivations = {}
        if entry is not None and entry.branch == "change":
            out.bip32_derivations[_origin_key(entry)] = _pool_origin(entry)
    return str(psbt.to_base64())


def _origin_key(entry: PoolAddress) -> ec.PublicKey:
    return ec.PublicKey.parse(bytes.fromhex(entry.public_key))


def _pool_origin(entry: PoolAddress) -> DerivationPath:
    assert entry.fingerprint is not None
    return origin(entry.derivation_path, bytes.fromhex(entry.fingerprint))
