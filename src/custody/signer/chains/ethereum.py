"""The Ethereum signer: parse an unsigned EIP-1559 template itself, check it by kind, sign it.

Keys: m/44'/60'/account'/0/i are deposit addresses, m/44'/60'/account'/2/0 the currency's hot
wallet (withdrawals and gas top-ups come from it). Every currency (ETH, each token) has its own
account, so its addresses and nonces are its own.
"""

from dataclasses import dataclass

from custody.chains import ethereum as chain
from custody.chains.ethereum_tx import (
    AccessListError,
    Eip1559Tx,
    PayloadError,
    TemplatePayload,
    TxError,
    TxTypeError,
    txid_of,
)
from custody.contract.addresses import PoolAddress
from custody.contract.currencies import ChainFamily
from custody.contract.templates import SignedTransaction, Template, TemplateKind
from custody.signer.chains.base import ChainSigner, CheckContext, CheckedTx
from custody.signer.chains.ethereum_rules import (
    check_fees,
    check_sweep,
    check_topup,
    check_withdrawal,
)
from custody.signer.derivation import SCHEMES, Account, Branch, DerivedKey, parse_path
from custody.signer.errors import Refusal
from custody.signer.errors import RefusalCode as R
from custody.signer.policy import CurrencyPolicy

COIN_TYPE = 60
HOT_INDEX = 0


@dataclass(frozen=True)
class EthereumCheckedTx(CheckedTx):
    """A checked template, already signed: the hash that names it covers the signature."""

    signed: SignedTransaction


def account(currency: CurrencyPolicy) -> Account:
    """m/44'/60'/account' of the currency."""
    return Account(SCHEMES[ChainFamily.ETHEREUM].purpose, COIN_TYPE, currency.account)


def nonce_spend(sender: str, nonce: int) -> str:
    """What a transaction consumes, in the journal's terms: one nonce of one account."""
    return f"{sender}:nonce:{nonce}"


def _payload(template: Template) -> TemplatePayload:
    try:
        return TemplatePayload.parse(template.payload)
    except TxTypeError as e:
        raise Refusal(R.ETH_TX_TYPE_UNSUPPORTED, str(e)) from e
    except AccessListError as e:
        raise Refusal(R.ETH_ACCESS_LIST_UNSUPPORTED, str(e)) from e
    except PayloadError as e:
        raise Refusal(R.ETH_PAYLOAD_MALFORMED, str(e)) from e
    except TxError as e:
        raise Refusal(R.ETH_TX_MALFORMED, str(e)) from e


class EthereumSigner(ChainSigner[EthereumCheckedTx]):
    """EIP-1559 transfers of ETH or of one ERC-20 token per currency."""

    family = ChainFamily.ETHEREUM

    def address(self, currency: CurrencyPolicy, branch: Branch, index: int) -> PoolAddress:
        """BIP44: the deposit address `index`, or (branch HOT) the currency's hot wallet."""
        key = self.keys.derive(account(currency).path(branch, index))
        return PoolAddress(
            currency=currency.code,
            address=chain.address_from_public_key(key.public_key),
            derivation_path=key.path_text,
            public_key=key.public_key.hex(),
            branch=branch.pool_branch,
            fingerprint=self.keys.fingerprint.hex(),
        )

    def hot_wallet(self, currency: CurrencyPolicy) -> str:
        """The currency's hot wallet address, derived here: the only address a sweep may pay."""
        return self.address(currency, Branch.HOT, HOT_INDEX).address

    def check(self, template: Template, ctx: CheckContext) -> EthereumCheckedTx:
        """Every check of the template by its kind; signs only when all of them hold."""
        currency = ctx.currency
        payload = _payload(template)
        tx = payload.tx
        expected = chain.chain_id(currency.network)
        if tx.chain_id != expected:
            raise Refusal(
                R.ETH_CHAIN_ID_MISMATCH,
                f"chain id {tx.chain_id}, but {currency.network} is chain {expected}",
            )
        key = self._sender(template, payload, currency)
        self._check_kind(template, payload, ctx)
        fee = check_fees(tx, currency)
        signed = _sign(tx, key)
        if template.txid is not None and template.txid.lower() != signed.txid:
            raise Refusal(
                R.TXID_MISMATCH,
                f"template says txid {template.txid}, the signed tx is {signed.txid}",
            )
        return EthereumCheckedTx(
            template_id=template.id,
            txid=signed.txid,
            spends=frozenset({nonce_spend(payload.sender, tx.nonce)}),
            fee=fee,
            signed=signed,
        )

    def sign(self, checked: EthereumCheckedTx) -> SignedTransaction:
        """The signature made during the check (RFC 6979: the same every time)."""
        return checked.signed

    def _sender(
        self, template: Template, payload: TemplatePayload, currency: CurrencyPolicy
    ) -> DerivedKey:
        """Our key that is to sign: derived from the claimed path, allowed for the kind."""
        hot = account(currency).path(Branch.HOT, HOT_INDEX)
        path = self._our_path(payload.path, currency, R.ETH_SENDER_NOT_ALLOWED)
        from_deposit = path[3] == Branch.RECEIVE and template.kind is TemplateKind.SWEEP
        if path != hot and not from_deposit:
            raise Refusal(
                R.ETH_SENDER_NOT_ALLOWED,
                f"a {template.kind} is sent from the hot wallet"
                + (" or a deposit address" if template.kind is TemplateKind.SWEEP else "")
                + f", not from {payload.path}",
            )
        key = self.keys.derive(path)
        if chain.address_from_public_key(key.public_key) != payload.sender:
            raise Refusal(
                R.ETH_SENDER_MISMATCH,
                f"{payload.path} derives another address than the claimed {payload.sender}",
            )
        return key

    def _our_path(self, text: str, currency: CurrencyPolicy, code: R) -> tuple[int, ...]:
        """A path of the currency's account on the receive or hot branch."""
        path = parse_path(text)  # the payload parser already checked the form
        branch: Branch | None
        try:
            branch, _ = account(currency).locate(path)
        except ValueError:
            branch = Branch.HOT if path == account(currency).path(Branch.HOT, HOT_INDEX) else None
        if branch not in (Branch.RECEIVE, Branch.HOT):
            raise Refusal(code, f"{text} is not a key of {currency.code}'s account")
        return path

    def _check_kind(self, template: Template, payload: TemplatePayload, ctx: CheckContext) -> None:
        currency, tx = ctx.currency, payload.tx
        if template.kind is not TemplateKind.TOPUP and payload.to_path is not None:
            raise Refusal(R.ETH_PAYLOAD_MALFORMED, f"a {template.kind} names no to_path")
        if template.kind is TemplateKind.WITHDRAWAL:
            check_withdrawal(tx, ctx.intents, currency)
        elif template.kind is TemplateKind.SWEEP:
            check_sweep(tx, self.hot_wallet(currency), currency)
        else:
            self._check_topup(template, payload, currency)

    def _check_topup(
        self, template: Template, payload: TemplatePayload, currency: CurrencyPolicy
    ) -> None:
        if currency.token_contract is None or template.withdrawals:
            raise Refusal(
                R.TEMPLATE_KIND_UNSUPPORTED,
                "a top-up pays no withdrawals and is for a token's deposit address",
            )
        if payload.to_path is None:
            raise Refusal(R.ETH_TOPUP_NOT_OURS, "the top-up names no to_path")
        path = self._our_path(payload.to_path, currency, R.ETH_TOPUP_NOT_OURS)
        if path[3] != Branch.RECEIVE:
            raise Refusal(R.ETH_TOPUP_NOT_OURS, f"{payload.to_path} is no deposit address")
        ours = chain.address_from_public_key(self.keys.derive(path).public_key)
        check_topup(payload.tx, ours, currency)


def _sign(tx: Eip1559Tx, key: DerivedKey) -> SignedTransaction:
    """secp256k1 over keccak(unsigned bytes); libsecp256k1 gives RFC 6979 nonces and low S."""
    signature = key.signing_key.sign_recoverable(tx.signing_hash(), hasher=None)
    r, s, y_parity = signature[:32], signature[32:64], signature[64]
    raw = tx.signed(y_parity, int.from_bytes(r, "big"), int.from_bytes(s, "big"))
    return SignedTransaction(signed_payload=raw.hex(), txid=txid_of(raw))
