"""The Nano signer: check a state block against its previous block, the intent and the policy.

Keys are SLIP-10 ed25519-blake2b from the seed: the hot account at m/44'/165'/0' (the first
account any Nano wallet shows for the mnemonic), deposit account k of the pool at
m/44'/165'/(k+1)'. What each template kind may be:

- withdrawal: a send from the hot account to the intent's destination, of exactly its amount;
- sweep: a send from a deposit account to this currency's hot account;
- receive: a receive or open (balance grows, link set) or a representative change, always
  naming the configured representative.

The previous block must hash to `previous` and carry our own valid signature, so its balance
is one we checked when we signed it: the amount a send moves is then known exactly.
"""

from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

from custody.chains import nano as chain
from custody.contract.addresses import PoolAddress
from custody.contract.currencies import ChainFamily
from custody.contract.templates import SignedTransaction, Template, TemplateKind
from custody.signer.chains.base import ChainSigner, CheckContext, CheckedTx
from custody.signer.chains.nano_ed25519 import NanoKey, verify
from custody.signer.chains.nano_payload import NanoPayload, parse_payload
from custody.signer.derivation import HARDENED, MAX_INDEX, SCHEMES, Branch, KeyRing, parse_path
from custody.signer.errors import Refusal, SignerError
from custody.signer.errors import RefusalCode as R
from custody.signer.intents import VerifiedIntent
from custody.signer.policy import CurrencyPolicy

COIN_TYPE = 165  # SLIP-44 for Nano
HOT_INDEX = 0
_PREFIX = (SCHEMES[ChainFamily.NANO].purpose + HARDENED, COIN_TYPE + HARDENED)
KEY_CACHE = 20_000
SIGNED_CACHE = 10_000


def account_path(index: int) -> tuple[int, ...]:
    """m/44'/165'/index'."""
    return (*_PREFIX, index + HARDENED)


def path_index(text: str) -> int:
    """The i of a claimed path m/44'/165'/i'; Refusal for any other path."""
    try:
        path = parse_path(text)
    except ValueError as e:
        raise Refusal(R.DERIVATION_PATH_INVALID, f"path {text!r}: {e}") from e
    if len(path) != 3 or path[:2] != _PREFIX or path[2] < HARDENED:
        raise Refusal(R.DERIVATION_PATH_INVALID, f"path {text} is not m/44'/165'/i'")
    return path[2] - HARDENED


@dataclass(frozen=True)
class NanoCheckedTx(CheckedTx):
    """A checked block and the key that signs it."""

    block: chain.StateBlock
    key: NanoKey


class NanoSigner(ChainSigner[NanoCheckedTx]):
    """State blocks of our own accounts; one block per template."""

    family = ChainFamily.NANO

    def __init__(self, keys: KeyRing):
        super().__init__(keys)
        self._keys: OrderedDict[int, NanoKey] = OrderedDict()
        # Blocks this process signed: a previous block found here needs no verification.
        self._signed: OrderedDict[bytes, bytes] = OrderedDict()

    def address(self, currency: CurrencyPolicy, branch: Branch, index: int) -> PoolAddress:
        """Deposit account `index` (receive branch) or the hot account (hot branch, index 0)."""
        if branch is Branch.HOT and index == HOT_INDEX:
            at = HOT_INDEX
        elif branch is Branch.RECEIVE and 0 <= index < MAX_INDEX:
            at = index + 1
        else:
            raise SignerError(f"nano has no {branch.pool_branch.value} account {index}")
        key = self.key(at)
        return PoolAddress(
            currency=currency.code,
            address=chain.encode_account(key.public_key),
            derivation_path=f"m/44'/{COIN_TYPE}'/{at}'",
            public_key=key.public_key.hex(),
            branch=branch.pool_branch,
        )

    def key(self, index: int) -> NanoKey:
        """Our key at m/44'/165'/index' (cached)."""
        cached = self._keys.get(index)
        if cached is not None:
            self._keys.move_to_end(index)
            return cached
        secret, public = self.keys.derive_ed25519_blake2b(account_path(index))
        key = NanoKey(secret)
        if key.public_key != public:  # two libraries, one key: they must agree
            raise SignerError(f"ed25519-blake2b backends disagree on key {index}")
        self._keys[index] = key
        if len(self._keys) > KEY_CACHE:
            self._keys.popitem(last=False)
        return key

    def check(self, template: Template, ctx: CheckContext) -> NanoCheckedTx:
        """Every check of the block; raises Refusal with the check's code."""
        payload = parse_payload(template.payload)
        block = payload.block
        if template.txid is None or template.txid.upper() != block.hash_hex:
            raise Refusal(
                R.TXID_MISMATCH,
                f"template says {template.txid}, the block hashes to {block.hash_hex}",
            )
        index = path_index(payload.path)
        key = self.key(index)
        if key.public_key != block.account:
            raise Refusal(
                R.NANO_ACCOUNT_NOT_OURS,
                f"{payload.path} derives {chain.encode_account(key.public_key)}, not the "
                f"block's account {chain.encode_account(block.account)}",
            )
        previous_balance, previous_rep = self._check_previous(block, payload.previous, key)
        subtype = self._check_subtype(payload, previous_balance)
        _check_representative(block, subtype, previous_rep, ctx.currency)
        self._check_kind(template.kind, subtype, index, payload, previous_balance, ctx)
        return NanoCheckedTx(
            template_id=template.id,
            txid=block.hash_hex,
            # The qualified root: two blocks with the same one fork, so at most one confirms.
            spends=frozenset({f"{block.account.hex()}:{block.previous.hex()}"}),
            fee=0,
            block=block,
            key=key,
        )

    def sign(self, checked: NanoCheckedTx) -> SignedTransaction:
        """Deterministic Ed25519-Blake2b over the block hash; the node's binary block, work
        left zero (the watcher attaches it: the work is not in the hash)."""
        block = checked.block
        signature = checked.key.sign(block.hash)
        self._signed[block.hash] = signature
        if len(self._signed) > SIGNED_CACHE:
            self._signed.popitem(last=False)
        signed = block.with_signature(signature)
        return SignedTransaction(signed_payload=signed.to_bytes().hex(), txid=block.hash_hex)

    def _check_previous(
        self, block: chain.StateBlock, previous: chain.StateBlock | None, key: NanoKey
    ) -> tuple[int | None, bytes | None]:
        """(balance, representative) of the previous block, once it is proven ours."""
        if block.is_open:
            if previous is not None:
                raise Refusal(R.NANO_PREVIOUS_MISMATCH, "an open block has no previous block")
            return None, None
        if previous is None:
            raise Refusal(R.NANO_PREVIOUS_MISSING, "the template lacks the full previous block")
        if previous.hash != block.previous:
            raise Refusal(
                R.NANO_PREVIOUS_MISMATCH,
                f"the previous block hashes to {previous.hash_hex}, the block names "
                f"{block.previous.hex().upper()}",
            )
        signature = previous.signature
        assert signature is not None  # parsed as a signed block
        ours = self._signed.get(previous.hash) == signature or verify(
            key.public_key, previous.hash, signature
        )
        if previous.account != block.account or not ours:
            raise Refusal(
                R.NANO_PREVIOUS_NOT_OURS,
                f"previous block {previous.hash_hex} does not carry our signature for this account",
            )
        return previous.balance, previous.representative

    def _check_subtype(self, payload: NanoPayload, previous_balance: int | None) -> str:
        subtype = chain.subtype_of(payload.block, previous_balance)
        if subtype == chain.EPOCH:
            raise Refusal(R.NANO_SUBTYPE_UNSUPPORTED, "an epoch block is not ours to sign")
        if subtype != payload.subtype:
            raise Refusal(
                R.NANO_SUBTYPE_MISMATCH,
                f"the block is a {subtype} (balances say so), the template calls it a "
                f"{payload.subtype}",
            )
        if subtype in (chain.SEND, chain.RECEIVE, chain.OPEN) and payload.block.link == chain.ZERO:
            raise Refusal(R.NANO_LINK_ZERO, f"a {subtype} with a zero link")
        return subtype

    def _check_kind(
        self,
        kind: TemplateKind,
        subtype: str,
        index: int,
        payload: NanoPayload,
        previous_balance: int | None,
        ctx: CheckContext,
    ) -> None:
        """What the template kind allows: see the module docstring."""
        block = payload.block
        if kind is TemplateKind.RECEIVE:
            if subtype not in (chain.RECEIVE, chain.OPEN, chain.CHANGE):
                raise Refusal(R.NANO_KIND_MISMATCH, f"a receive template holds a {subtype}")
            return
        if subtype != chain.SEND:
            raise Refusal(R.NANO_KIND_MISMATCH, f"a {kind} template holds a {subtype}")
        assert previous_balance is not None  # a send is never an open block
        amount = previous_balance - block.balance
        if kind is TemplateKind.SWEEP:
            self._check_sweep(block, index)
            return
        if index != HOT_INDEX:
            raise Refusal(
                R.NANO_NOT_HOT_ACCOUNT,
                f"a withdrawal is paid by the hot account, not by {payload.path}",
            )
        _check_withdrawal(block, amount, ctx.intents)

    def _check_sweep(self, block: chain.StateBlock, index: int) -> None:
        if index == HOT_INDEX:
            raise Refusal(R.NANO_SWEEP_FROM_HOT, "a sweep moves a deposit account's funds")
        hot = self.key(HOT_INDEX).public_key
        if block.link != hot:
            raise Refusal(
                R.NANO_SWEEP_NOT_TO_HOT,
                f"a sweep pays only the hot account {chain.encode_account(hot)}, not "
                f"{chain.encode_account(block.link)}",
            )


def _check_representative(
    block: chain.StateBlock, subtype: str, previous: bytes | None, currency: CurrencyPolicy
) -> None:
    """Receives, opens and changes name the configured representative; a send keeps the one it
    had or moves to the configured one. A stranger never gets our accounts' voting weight."""
    if currency.representative is None:
        raise Refusal(R.NANO_REPRESENTATIVE_NOT_CONFIGURED, "the policy names no representative")
    configured = chain.decode_account(currency.representative)
    if block.representative == configured:
        return
    if subtype == chain.SEND and block.representative == previous:
        return
    raise Refusal(
        R.NANO_REPRESENTATIVE_NOT_CONFIGURED,
        f"a {subtype} naming representative {chain.encode_account(block.representative)}, not "
        f"the configured {currency.representative}",
    )


def _check_withdrawal(
    block: chain.StateBlock, amount: int, intents: Sequence[VerifiedIntent]
) -> None:
    if len(intents) != 1:
        raise Refusal(R.NANO_ONE_WITHDRAWAL_PER_BLOCK, f"{len(intents)} withdrawals in one block")
    [intent] = intents
    destination = chain.decode_account(intent.destination)
    if block.link != destination:
        raise Refusal(
            R.NANO_DESTINATION_MISMATCH,
            f"withdrawal {intent.withdrawal_id} pays {intent.destination}, the block sends to "
            f"{chain.encode_account(block.link)}",
        )
    if amount != intent.amount:
        raise Refusal(
            R.NANO_AMOUNT_MISMATCH,
            f"withdrawal {intent.withdrawal_id} is {intent.amount} raw, the block sends {amount}",
        )
