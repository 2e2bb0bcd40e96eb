"""Builders for Ethereum tests: the signer policy for ETH and the test token, keys, templates.

Templates are built with the project's pure encoder and checked against eth-account where the
bytes matter (tests/unit/ethereum/test_eth_tx.py), so a bug in one cannot hide in the other.
"""

import hashlib
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from bip_utils import Bip39SeedGenerator

from custody.chains.ethereum import address_from_public_key
from custody.chains.ethereum_tx import Eip1559Tx, TemplatePayload, address_bytes, encode_transfer
from custody.contract.intent import public_key_hex
from custody.contract.templates import Template, TemplateKind, TemplateStatus
from custody.contract.withdrawals import Withdrawal
from custody.signer.derivation import KeyRing
from tests.support.keys import EXCHANGE, OPERATORS
from tests.support.signer_templates import withdrawal

# BIP39's "abandon ... about": m/44'/60'/0'/0/0 is 0x9858EfFD232B4033E47d90003D41EC34EcaEda94.
MNEMONIC = " ".join(["abandon"] * 11 + ["about"])
KEYS = KeyRing(Bip39SeedGenerator(MNEMONIC).Generate())
ETHER = 10**18
GWEI = 10**9
TOKEN = "0x5FbDB2315678afecb367f032d93F642f64180aa3"  # anvil's first contract address
ALICE = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
BOB = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC"

POLICY = """\
exchange_key = "{exchange}"

[currencies.ETH]
family = "ethereum"
network = "eth-anvil"
account = 0
max_fee = "{max_fee}"
max_fee_rate = "{max_fee_rate}"
max_gas = "{max_gas}"
max_per_withdrawal = "{max_per_withdrawal}"
max_per_day = "{max_per_day}"

[[currencies.ETH.approvals]]
up_to = "{tier}"
required = 0

[[currencies.ETH.approvals]]
required = 1
operators = ["{op0}", "{op1}"]

[currencies.TKN]
family = "ethereum"
network = "eth-anvil"
account = 1
token_contract = "{token}"
max_fee = "{max_fee}"
max_fee_rate = "{max_fee_rate}"
max_gas = "{max_gas}"
max_per_withdrawal = "{max_per_withdrawal}"
max_per_day = "{max_per_day}"

[[currencies.TKN.approvals]]
required = 0
"""


def policy_text(
    *,
    token: str = TOKEN,
    max_fee: int = 5 * 10**15,
    max_fee_rate: int = 100 * GWEI,
    max_gas: int = 100_000,
    max_per_withdrawal: int = 100 * ETHER,
    max_per_day: int = 1000 * ETHER,
    tier: int = 50 * ETHER,
) -> str:
    """ETH (account 0) and TKN (account 1): caps per transaction, per day; approvals above 50."""
    ops = {f"op{i}": public_key_hex(k) for i, k in enumerate(OPERATORS[:2])}
    return POLICY.format(
        exchange=public_key_hex(EXCHANGE), token=token, max_fee=max_fee,
        max_fee_rate=max_fee_rate, max_gas=max_gas, max_per_withdrawal=max_per_withdrawal,
        max_per_day=max_per_day, tier=tier, **ops,
    )


def write_policy(directory: Path, **overrides: object) -> Path:
    """The policy file in `directory`."""
    target = directory / "policy.toml"
    target.write_text(policy_text(**overrides))  # type: ignore[arg-type]
    return target


def path(account: int, branch: int, index: int) -> str:
    """m/44'/60'/account'/branch/index."""
    return f"m/44'/60'/{account}'/{branch}/{index}"


def address_at(at: str, keys: KeyRing = KEYS) -> str:
    """The EIP-55 address of our key at `at`."""
    from custody.signer.derivation import parse_path

    return address_from_public_key(keys.derive(parse_path(at)).public_key)


HOT = path(0, 2, 0)
TOKEN_HOT = path(1, 2, 0)


def eth_tx(
    to: str, value: int, *, nonce: int = 0, chain_id: int = 31337, data: bytes = b"",
    gas: int = 21_000, max_fee: int = 3 * GWEI, tip: int = GWEI,
) -> Eip1559Tx:
    """An EIP-1559 transaction."""
    return Eip1559Tx(chain_id, nonce, tip, max_fee, gas, address_bytes(to), value, data)


def token_tx(to: str, amount: int, **kw: int) -> Eip1559Tx:
    """A TKN transfer(to, amount)."""
    return eth_tx(TOKEN, 0, data=encode_transfer(address_bytes(to), amount), gas=60_000, **kw)


def payload(tx: Eip1559Tx, at: str = HOT, *, sender: str | None = None,
            to_path: str | None = None) -> str:
    """The template payload of `tx` sent by our key at `at`."""
    return TemplatePayload(tx, sender or address_at(at), at, to_path).encode()


def template(
    body: str,
    withdrawals: Sequence[Withdrawal] = (),
    *,
    kind: TemplateKind = TemplateKind.WITHDRAWAL,
    currency: str = "ETH",
    tid: str = "tpl-1",
    replaces: str | None = None,
    txid: str | None = None,
) -> Template:
    """An unsigned template as the coordinator hands it to the signer."""
    now = datetime(2024, 1, 1, tzinfo=UTC)
    return Template(
        id=tid, currency=currency, kind=kind, status=TemplateStatus.UNSIGNED, payload=body,
        payload_hash=hashlib.sha256(body.encode()).hexdigest(), txid=txid, replaces=replaces,
        withdrawals=list(withdrawals), signed_payload=None, rejection=None, failure=None,
        block_hash=None, block_height=None, created_at=now, updated_at=now,
    )


def eth_withdrawal(wid: str, destination: str, amount: int, currency: str = "ETH",
                   **kw: object) -> Withdrawal:
    """A withdrawal signed by the exchange key."""
    return withdrawal(wid, destination, amount, currency=currency, **kw)  # type: ignore[arg-type]
