"""The Ethereum signer: derivation vectors, eth-account-identical signatures, 15+ tampered
templates each refused with the check's own code, and the journal's one-nonce-one-purpose rule."""

import json
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from eth_account import Account

from custody.chains.ethereum_tx import TemplatePayload, decode_signed
from custody.contract.templates import Template, TemplateKind
from custody.signer.derivation import Branch
from custody.signer.errors import PolicyError, Refusal
from custody.signer.journal import Journal
from custody.signer.policy import load_policy
from custody.signer.signing import TemplateSigner
from tests.support.keys import STRANGER
from tests.unit.ethereum.helpers import (
    ALICE,
    BOB,
    ETHER,
    GWEI,
    HOT,
    KEYS,
    TOKEN,
    TOKEN_HOT,
    address_at,
    eth_tx,
    eth_withdrawal,
    path,
    payload,
    template,
    token_tx,
    write_policy,
)

W1 = eth_withdrawal("w1", ALICE, ETHER)
T1 = eth_withdrawal("t1", ALICE, 5_000_000, currency="TKN")


@pytest.fixture
def signer(tmp_path: Path) -> Iterator[TemplateSigner]:
    with Journal(tmp_path / "journal.jsonl") as journal:
        yield TemplateSigner(load_policy(write_policy(tmp_path)), KEYS, journal)


def test_bip44_vectors_and_pool_entries(signer: TemplateSigner) -> None:
    # BIP39 "abandon ... about" at m/44'/60'/0'/0/0, as every wallet derives it.
    assert address_at(path(0, 0, 0)) == "0x9858EfFD232B4033E47d90003D41EC34EcaEda94"
    eth, tkn = signer.policy.currencies["ETH"], signer.policy.currencies["TKN"]
    chain = signer.chain_for(eth)
    entry = chain.address(eth, Branch.RECEIVE, 3)
    assert (entry.derivation_path, entry.branch) == ("m/44'/60'/0'/0/3", "receive")
    hot = chain.address(tkn, Branch.HOT, 0)
    assert (hot.derivation_path, hot.branch, hot.address) == (TOKEN_HOT, "hot", address_at(TOKEN_HOT))
    assert chain.address(eth, Branch.RECEIVE, 0).address != chain.address(tkn, Branch.RECEIVE, 0).address


def test_signature_is_eth_accounts_and_deterministic(signer: TemplateSigner) -> None:
    tx = eth_tx(ALICE, ETHER, nonce=7)
    signed = signer.sign(template(payload(tx), [W1]))
    key = KEYS.derive((44 + 2**31, 60 + 2**31, 2**31, 2, 0)).secret
    theirs = Account.sign_transaction(
        {"type": 2, "chainId": 31337, "nonce": 7, "to": ALICE, "value": ETHER, "gas": 21_000,
         "maxFeePerGas": 3 * GWEI, "maxPriorityFeePerGas": GWEI, "data": b""}, key)
    assert signed.signed_payload == theirs.raw_transaction.hex()
    assert signed.txid == "0x" + theirs.hash.hex()
    assert decode_signed(bytes.fromhex(signed.signed_payload)).tx == tx
    assert signer.sign(template(payload(tx), [W1])) == signed  # same bytes, no new record
    assert len(signer.journal) == 1


def test_token_withdrawal_sweep_and_topup_are_signed(signer: TemplateSigner) -> None:
    signer.sign(template(payload(token_tx(ALICE, 5_000_000), TOKEN_HOT), [T1], currency="TKN"))
    deposit = path(1, 0, 4)
    sweep = token_tx(address_at(TOKEN_HOT), 9_000_000)
    signer.sign(template(payload(sweep, deposit), kind=TemplateKind.SWEEP, currency="TKN",
                         tid="s1"))
    topup = eth_tx(address_at(deposit), 60_000 * 3 * GWEI, nonce=1)
    signer.sign(template(payload(topup, TOKEN_HOT, to_path=deposit), kind=TemplateKind.TOPUP,
                         currency="TKN", tid="u1"))
    eth_sweep = eth_tx(address_at(HOT), ETHER)
    signer.sign(template(payload(eth_sweep, path(0, 0, 2)), kind=TemplateKind.SWEEP, tid="s2"))
    assert len(signer.journal) == 4


def _raw(hex_tx: str, at: str = HOT) -> str:
    body = json.dumps({"format": "custody-eth1559/v1", "from": address_at(at), "path": at,
                       "tx": hex_tx}, separators=(",", ":"))
    return body


BASE = eth_tx(ALICE, ETHER)
UNSIGNED = "0x" + BASE.unsigned().hex()

# (name, template, expected code): each tampers with exactly one thing of a good template.
CASES: list[tuple[str, Callable[[], Template], str]] = [
    ("wrong chain id", lambda: template(payload(replace(BASE, chain_id=1)), [W1]),
     "eth_chain_id_mismatch"),
    ("wrong recipient", lambda: template(payload(eth_tx(BOB, ETHER)), [W1]),
     "eth_recipient_mismatch"),
    ("value changed", lambda: template(payload(eth_tx(ALICE, ETHER + 1)), [W1]),
     "eth_value_mismatch"),
    ("calldata on an ETH transfer", lambda: template(payload(eth_tx(ALICE, ETHER, data=b"\x00")),
                                                     [W1]), "eth_calldata_unexpected"),
    ("token calldata changed (recipient)",
     lambda: template(payload(token_tx(BOB, 5_000_000), TOKEN_HOT), [T1], currency="TKN"),
     "eth_recipient_mismatch"),
    ("token calldata changed (amount)",
     lambda: template(payload(token_tx(ALICE, 5_000_001), TOKEN_HOT), [T1], currency="TKN"),
     "eth_value_mismatch"),
    ("token calldata truncated",
     lambda: template(payload(replace(token_tx(ALICE, 5_000_000), data=token_tx(
         ALICE, 5_000_000).data[:-1]), TOKEN_HOT), [T1], currency="TKN"),
     "eth_calldata_mismatch"),
    ("another token contract",
     lambda: template(payload(replace(token_tx(ALICE, 5_000_000), to=bytes.fromhex(
         BOB[2:])), TOKEN_HOT), [T1], currency="TKN"), "eth_token_contract_mismatch"),
    ("ETH value on a token transfer",
     lambda: template(payload(replace(token_tx(ALICE, 5_000_000), value=1), TOKEN_HOT), [T1],
                      currency="TKN"), "eth_value_mismatch"),
    ("fee over cap", lambda: template(payload(eth_tx(ALICE, ETHER, gas=100_000,
                                                     max_fee=60 * GWEI)), [W1]),
     "fee_over_cap"),
    ("fee rate over cap", lambda: template(payload(eth_tx(ALICE, ETHER, max_fee=101 * GWEI)),
                                           [W1]), "fee_rate_over_cap"),
    ("gas limit over cap", lambda: template(payload(eth_tx(ALICE, ETHER, gas=100_001,
                                                           max_fee=GWEI)), [W1]),
     "eth_gas_limit_over_cap"),
    ("tip above max fee", lambda: template(payload(eth_tx(ALICE, ETHER, tip=4 * GWEI)), [W1]),
     "eth_priority_fee_above_max_fee"),
    ("sweep to a foreign address",
     lambda: template(payload(eth_tx(BOB, ETHER), path(0, 0, 1)), kind=TemplateKind.SWEEP),
     "eth_sweep_not_to_hot"),
    ("token sweep to a foreign address",
     lambda: template(payload(token_tx(BOB, 10), path(1, 0, 1)), kind=TemplateKind.SWEEP,
                      currency="TKN"), "eth_sweep_not_to_hot"),
    ("withdrawal from a deposit address",
     lambda: template(payload(BASE, path(0, 0, 1)), [W1]), "eth_sender_not_allowed"),
    ("path of another currency's account",
     lambda: template(payload(BASE, path(1, 2, 0)), [W1]), "eth_sender_not_allowed"),
    ("claimed sender is not the path's key",
     lambda: template(payload(BASE, sender=BOB), [W1]), "eth_sender_mismatch"),
    ("two withdrawals in one transaction",
     lambda: template(payload(BASE), [W1, eth_withdrawal("w2", ALICE, ETHER)]),
     "eth_one_withdrawal_per_tx"),
    ("contract creation", lambda: template(payload(replace(BASE, to=None)), [W1]),
     "eth_contract_creation"),
    ("legacy transaction type", lambda: template(_raw("0x01" + UNSIGNED[4:]), [W1]),
     "eth_tx_type_unsupported"),
    ("trailing byte", lambda: template(_raw(UNSIGNED + "00"), [W1]), "eth_tx_malformed"),
    ("payload not JSON", lambda: template("0x" + BASE.unsigned().hex(), [W1]),
     "eth_payload_malformed"),
    ("top-up to a foreign address",
     lambda: template(payload(eth_tx(BOB, 10**15), TOKEN_HOT, to_path=path(1, 0, 1)),
                      kind=TemplateKind.TOPUP, currency="TKN"), "eth_topup_not_ours"),
    ("top-up over the fee cap",
     lambda: template(payload(eth_tx(address_at(path(1, 0, 1)), 5 * 10**15 + 1), TOKEN_HOT,
                              to_path=path(1, 0, 1)), kind=TemplateKind.TOPUP, currency="TKN"),
     "eth_topup_over_cap"),
    ("top-up of ETH itself", lambda: template(payload(eth_tx(address_at(path(0, 0, 1)), 1), HOT,
                                                      to_path=path(0, 0, 1)),
                                              kind=TemplateKind.TOPUP),
     "template_kind_unsupported"),
    ("intent not signed by the exchange",
     lambda: template(payload(BASE), [eth_withdrawal("w9", ALICE, ETHER, signer=STRANGER)]),
     "intent_signature_invalid"),
    ("txid claimed wrong", lambda: template(payload(BASE), [W1], txid="0x" + "ab" * 32),
     "txid_mismatch"),
]


@pytest.mark.parametrize(("name", "build", "code"), CASES, ids=[c[0] for c in CASES])
def test_tampered_template_is_refused(
    signer: TemplateSigner, name: str, build: Callable[[], Template], code: str
) -> None:
    with pytest.raises(Refusal) as refused:
        signer.sign(build())
    assert refused.value.code == code, refused.value.reason
    assert len(signer.journal) == 0


def test_nonce_reused_for_another_withdrawal_is_refused(signer: TemplateSigner) -> None:
    signer.sign(template(payload(eth_tx(ALICE, ETHER, nonce=3)), [W1]))
    other = eth_withdrawal("w2", BOB, ETHER)
    with pytest.raises(Refusal) as refused:
        signer.sign(template(payload(eth_tx(BOB, ETHER, nonce=3)), [other], tid="tpl-2",
                             replaces="tpl-1"))
    assert refused.value.code == "nonce_reused"
    with pytest.raises(Refusal) as refused:  # the same withdrawal at a new nonce: a second payment
        signer.sign(template(payload(eth_tx(ALICE, ETHER, nonce=4)), [W1], tid="tpl-3"))
    assert refused.value.code == "withdrawal_already_signed"
    with pytest.raises(Refusal) as refused:  # declared, but another nonce: both could confirm
        signer.sign(template(payload(eth_tx(ALICE, ETHER, nonce=4)), [W1], tid="tpl-4",
                             replaces="tpl-1"))
    assert refused.value.code == "replacement_not_conflicting"
    with pytest.raises(Refusal) as refused:  # a fee bump not declared as a replacement
        signer.sign(template(payload(eth_tx(ALICE, ETHER, nonce=3, max_fee=4 * GWEI)), [W1],
                             tid="tpl-5"))
    assert refused.value.code == "withdrawal_already_signed"
    bumped = signer.sign(template(payload(eth_tx(ALICE, ETHER, nonce=3, max_fee=4 * GWEI)),
                                  [W1], tid="tpl-6", replaces="tpl-1"))
    assert bumped.txid and len(signer.journal) == 2
    with pytest.raises(Refusal) as refused:  # a sweep may not take a withdrawal's nonce
        signer.sign(template(payload(eth_tx(address_at(HOT), 0, nonce=3)),
                             kind=TemplateKind.SWEEP, tid="tpl-7", replaces="tpl-6"))
    assert refused.value.code == "nonce_reused"


def test_policy_checks_ethereum_sections(tmp_path: Path) -> None:
    text = write_policy(tmp_path).read_text()
    (tmp_path / "p1.toml").write_text(text.replace('account = 1', 'account = 0'))
    with pytest.raises(PolicyError, match="same ethereum account"):
        load_policy(tmp_path / "p1.toml")
    (tmp_path / "p2.toml").write_text(text.replace('max_gas = "100000"\n', "", 1))
    with pytest.raises(PolicyError, match="max_gas"):
        load_policy(tmp_path / "p2.toml")
    (tmp_path / "p3.toml").write_text(text.replace(TOKEN, TOKEN.lower().replace("f", "F", 1)))
    with pytest.raises(PolicyError, match="token_contract"):
        load_policy(tmp_path / "p3.toml")


def test_payload_round_trip() -> None:
    body = payload(BASE)
    assert TemplatePayload.parse(body).encode() == body
