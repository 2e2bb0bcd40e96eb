"""Check and sign one template: the same steps for the polling loop and the air-gapped file mode."""

import hashlib
import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from custody.contract.templates import SignedTransaction, Template, TemplateKind
from custody.signer import keystore
from custody.signer.chains.base import ChainSigner, CheckContext, CheckedTx
from custody.signer.chains.registry import EXTRA_KINDS, NONCE_FAMILIES, SIGNERS
from custody.signer.derivation import KeyRing
from custody.signer.errors import PolicyError, Refusal
from custody.signer.errors import RefusalCode as R
from custody.signer.intents import VerifiedIntent, verify_intents
from custody.signer.journal import Journal, JournalEntry
from custody.signer.policy import CurrencyPolicy, Policy, load_policy
from custody.signer.settings import SignerSettings

log = logging.getLogger(__name__)

DAY = timedelta(hours=24)


def _utcnow() -> datetime:
    return datetime.now(UTC)


class TemplateSigner:
    """Policy + keys + journal: refuses with a Refusal or returns deterministic signed bytes."""

    def __init__(
        self,
        policy: Policy,
        keys: KeyRing,
        journal: Journal,
        *,
        clock: Callable[[], datetime] = _utcnow,
    ):
        families = {c.family for c in policy.currencies.values()}
        missing = sorted(f for f in families if f not in SIGNERS)
        if missing:
            raise PolicyError(f"the signer cannot sign for chain family {', '.join(missing)} yet")
        self.policy = policy
        self.keys = keys
        self.journal = journal
        self._clock = clock
        self._chains: dict[str, ChainSigner[Any]] = {f: SIGNERS[f](keys) for f in families}

    def chain_for(self, currency: CurrencyPolicy) -> ChainSigner[Any]:
        """The signer half of the currency's chain family."""
        return self._chains[currency.family]

    def sign(self, template: Template) -> SignedTransaction:
        """Run every check, sign, journal (fsynced), then hand back the signed transaction."""
        currency = self._currency(template)
        intents = self._intents(template, currency)
        chain = self._chains[currency.family]
        checked = chain.check(template, CheckContext(currency=currency, intents=intents))
        known = self._check_journal(template, checked, intents)
        if currency.family in NONCE_FAMILIES:
            _check_nonce_reuse(self.journal, template, checked, intents)
        now = self._clock()
        if known is None:
            self._check_daily_limit(currency, intents, now)
        signed = chain.sign(checked)
        digest = hashlib.sha256(bytes.fromhex(signed.signed_payload)).hexdigest()
        if known is not None:
            if known.payload_sha256 != digest:
                raise Refusal(
                    R.SIGNED_DIFFERENTLY,
                    f"transaction {checked.txid} was signed before with other input data",
                )
            return signed
        entry = JournalEntry(
            template_id=template.id,
            currency=currency.code,
            txid=checked.txid,
            spends=checked.spends,
            withdrawals=tuple((i.key, i.amount) for i in intents),
            payload_sha256=digest,
            signed_at=now,
        )
        self.journal.append(entry)
        log.info("signed template %s: txid %s, fee %d", template.id, checked.txid, checked.fee)
        return signed

    def _currency(self, template: Template) -> CurrencyPolicy:
        currency = self.policy.currency(template.currency)
        if currency is None:
            raise Refusal(
                R.CURRENCY_NOT_CONFIGURED, f"the policy has no section for {template.currency}"
            )
        return currency

    def _intents(self, template: Template, currency: CurrencyPolicy) -> list[VerifiedIntent]:
        if template.kind is TemplateKind.WITHDRAWAL and not template.withdrawals:
            raise Refusal(R.WITHDRAWALS_MISSING, "a withdrawal template without withdrawals")
        if template.kind is TemplateKind.SWEEP and template.withdrawals:
            raise Refusal(R.TEMPLATE_KIND_UNSUPPORTED, "a sweep template must pay no withdrawals")
        if template.kind is TemplateKind.RECEIVE and template.withdrawals:
            raise Refusal(R.TEMPLATE_KIND_UNSUPPORTED, "a receive template must pay no withdrawals")
        extra = EXTRA_KINDS.get(currency.family, frozenset())
        if template.kind not in (TemplateKind.WITHDRAWAL, TemplateKind.SWEEP, *extra):
            raise Refusal(
                R.TEMPLATE_KIND_UNSUPPORTED, f"{template.kind} templates are not signed here"
            )
        return verify_intents(template.withdrawals, currency, self.policy.exchange_key)

    def _check_journal(
        self, template: Template, checked: CheckedTx, intents: Sequence[VerifiedIntent]
    ) -> JournalEntry | None:
        """One intent, one payment. Returns the entry when this very transaction was signed."""
        known = self.journal.by_txid(checked.txid)
        ids = {i.key for i in intents}
        if known is not None and {wid for wid, _ in known.withdrawals} != ids:
            raise Refusal(
                R.SIGNED_DIFFERENTLY,
                f"transaction {checked.txid} was signed before for other withdrawals",
            )
        for intent in intents:
            for entry in self.journal.for_withdrawal(intent.key):
                # A transaction operators signed off as dead (a reissue) no longer binds.
                if entry.txid != checked.txid and entry.txid.lower() not in intent.reissued:
                    _check_replacement(template, checked, intent.withdrawal_id, entry)
        return known

    def _check_daily_limit(
        self, currency: CurrencyPolicy, intents: Sequence[VerifiedIntent], now: datetime
    ) -> None:
        # Withdrawals signed before (a replacement) are already in the window's volume.
        new = sum(i.amount for i in intents if not self.journal.for_withdrawal(i.key))
        volume = self.journal.volume_since(currency.code, now - DAY)
        if volume + new > currency.max_per_day:
            raise Refusal(
                R.LIMIT_DAILY,
                f"{volume} signed in the last 24 hours plus {new} exceeds the daily limit "
                f"{currency.max_per_day}",
            )


def _check_replacement(
    template: Template, checked: CheckedTx, withdrawal_id: str, earlier: JournalEntry
) -> None:
    """A second transaction for a withdrawal must be declared and conflict with every earlier one."""
    if template.replaces is None:
        raise Refusal(
            R.WITHDRAWAL_ALREADY_SIGNED,
            f"withdrawal {withdrawal_id} was signed in transaction {earlier.txid} "
            f"(template {earlier.template_id}) and this template is no declared replacement",
        )
    if not checked.spends & earlier.spends:
        # Sharing an input is what makes the two mutually exclusive: at most one confirms.
        raise Refusal(
            R.REPLACEMENT_NOT_CONFLICTING,
            f"withdrawal {withdrawal_id}: this replacement spends none of the inputs of "
            f"{earlier.txid}, so both could confirm",
        )


def _check_nonce_reuse(
    journal: Journal, template: Template, checked: CheckedTx, intents: Sequence[VerifiedIntent]
) -> None:
    """One nonce, one purpose: a nonce signed before is signed again only as a declared
    replacement of the same withdrawals (or of a sweep or top-up: none)."""
    ids = {i.key for i in intents}
    for spend in sorted(checked.spends):
        for earlier in journal.by_spend(spend):
            if earlier.txid == checked.txid:
                continue
            if {wid for wid, _ in earlier.withdrawals} != ids or template.replaces is None:
                paid = ", ".join(wid for wid, _ in earlier.withdrawals) or "no withdrawal"
                raise Refusal(
                    R.NONCE_REUSED,
                    f"{spend} was signed in {earlier.txid} (template {earlier.template_id}, "
                    f"paying {paid}); this template is no declared replacement of it",
                )


@contextmanager
def open_signer(settings: SignerSettings, passphrase: str) -> Iterator[TemplateSigner]:
    """Load the policy, unlock the keystore and lock the journal; release the journal after."""
    policy = load_policy(settings.policy)
    unlocked = keystore.unlock(settings.keystore, passphrase)
    keys = KeyRing(unlocked.seed)
    del unlocked  # the seed lives on only inside the key ring
    with Journal(settings.journal) as journal:
        signer = TemplateSigner(policy, keys, journal)
        log.info(
            "signer ready: fingerprint %s, %d journal entries", keys.fingerprint.hex(), len(journal)
        )
        yield signer
