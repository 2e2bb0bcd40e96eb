"""Checks on a template's withdrawal intents: exchange signature, approvals, limits, destination."""

from collections.abc import Sequence
from dataclasses import dataclass

from custody.chains import registry
from custody.chains.errors import AddressError
from custody.contract.intent import approval_bytes, intent_bytes, reissue_bytes, verify
from custody.contract.withdrawals import Withdrawal
from custody.signer.errors import Refusal
from custody.signer.errors import RefusalCode as R
from custody.signer.policy import CurrencyPolicy


@dataclass(frozen=True)
class VerifiedIntent:
    """An intent whose signature, approvals and limits hold: pay `amount` to `destination`.

    `key` is what the journal remembers: the exchange's request_id, which the exchange signed.
    The coordinator's withdrawal id is only a label (it is not signed), so a coordinator that
    re-sent the same signed intent under a new id would otherwise get it paid twice.
    """

    withdrawal_id: str
    destination: str
    amount: int
    key: str
    # Txids (lower case) that operators signed off as dead: a new transaction may pay again.
    reissued: frozenset[str] = frozenset()


def verify_intents(
    withdrawals: Sequence[Withdrawal], currency: CurrencyPolicy, exchange_key: str
) -> list[VerifiedIntent]:
    """Check every withdrawal of a template; the first failed check refuses the template."""
    _check_unique(withdrawals)
    return [_verify(w, currency, exchange_key) for w in withdrawals]


def _check_unique(withdrawals: Sequence[Withdrawal]) -> None:
    ids: set[str] = set()
    requests: set[str] = set()
    for w in withdrawals:
        request = w.intent.request_id
        if w.id in ids or request in requests:
            raise Refusal(
                R.WITHDRAWAL_DUPLICATED,
                f"withdrawal {w.id} (request {w.intent.request_id}) appears twice in the template",
            )
        ids.add(w.id)
        requests.add(request)


def _verify(w: Withdrawal, currency: CurrencyPolicy, exchange_key: str) -> VerifiedIntent:
    intent = w.intent
    if intent.currency != currency.code:
        raise Refusal(
            R.INTENT_CURRENCY_MISMATCH,
            f"withdrawal {w.id} is for {intent.currency}, the template for {currency.code}",
        )
    # Authenticity first: nothing else in an intent means anything until the exchange signed it.
    if not verify(exchange_key, intent_bytes(intent), w.signature):
        raise Refusal(
            R.INTENT_SIGNATURE_INVALID,
            f"withdrawal {w.id}: the intent is not signed by the exchange key",
        )
    if intent.amount <= 0:
        raise Refusal(R.INTENT_AMOUNT_INVALID, f"withdrawal {w.id}: amount must be positive")
    if intent.amount > currency.max_per_withdrawal:
        raise Refusal(
            R.LIMIT_PER_WITHDRAWAL,
            f"withdrawal {w.id}: {intent.amount} exceeds the per-withdrawal limit "
            f"{currency.max_per_withdrawal}",
        )
    destination = _destination(w, currency)
    _check_approvals(w, currency)
    return VerifiedIntent(
        withdrawal_id=w.id,
        destination=destination,
        amount=intent.amount,
        key=intent_key(intent.request_id),
        reissued=_reissued(w, currency),
    )


def _reissued(w: Withdrawal, currency: CurrencyPolicy) -> frozenset[str]:
    """Txids enough operators of this amount's tier (at least one) signed off as dead."""
    tier = currency.tier_for(w.intent.amount)
    assert tier is not None  # _check_approvals refused the intent otherwise
    operators = set(tier.operators) or {k for t in currency.approvals for k in t.operators}
    needed = max(1, tier.required)
    signers: dict[str, set[str]] = {}
    for r in w.reissues:
        if r.operator_key not in operators:
            continue  # not evidence of anything
        txid = r.txid.lower()
        if not verify(r.operator_key, reissue_bytes(w.intent, txid), r.signature):
            raise Refusal(
                R.REISSUE_INVALID,
                f"withdrawal {w.id}: reissue of {txid} by {r.operator_key[:16]}... does not "
                "sign this intent and txid",
            )
        signers.setdefault(txid, set()).add(r.operator_key)
    return frozenset(t for t, keys in signers.items() if len(keys) >= needed)


def intent_key(request_id: str) -> str:
    """The journal's identity of a withdrawal: one exchange request, one payment."""
    return f"request:{request_id}"


def _destination(w: Withdrawal, currency: CurrencyPolicy) -> str:
    address = w.intent.destination
    try:
        normalized = registry.validate_address(currency.family, currency.network, address)
    except AddressError as e:
        others = registry.known_networks(currency.family) - {currency.network}
        owners = sorted(n for n in others if _valid_on(currency, n, address))
        if owners:
            raise Refusal(
                R.WRONG_NETWORK,
                f"withdrawal {w.id}: destination {address} is on {', '.join(owners)}, "
                f"not {currency.network}",
            ) from e
        raise Refusal(
            R.DESTINATION_INVALID, f"withdrawal {w.id}: destination {address!r}: {e}"
        ) from e
    if currency.allowlist is not None and normalized not in currency.allowlist:
        raise Refusal(
            R.DESTINATION_NOT_ALLOWED,
            f"withdrawal {w.id}: destination {normalized} is not on the allowlist",
        )
    return normalized


def _valid_on(currency: CurrencyPolicy, network: str, address: str) -> bool:
    try:
        registry.validate_address(currency.family, network, address)
    except AddressError:
        return False
    return True


def _check_approvals(w: Withdrawal, currency: CurrencyPolicy) -> None:
    tier = currency.tier_for(w.intent.amount)
    if tier is None:
        raise Refusal(
            R.APPROVAL_TIER_MISSING,
            f"withdrawal {w.id}: no approval tier covers amount {w.intent.amount}",
        )
    message = approval_bytes(w.intent)
    approved: set[str] = set()
    for approval in w.approvals:
        # Approvals from keys outside this tier do not count; they are not evidence of anything.
        if approval.operator_key not in tier.operators:
            continue
        if not verify(approval.operator_key, message, approval.signature):
            raise Refusal(
                R.APPROVAL_INVALID,
                f"withdrawal {w.id}: approval by {approval.operator_key[:16]}... does not sign "
                "this intent",
            )
        approved.add(approval.operator_key)
    if len(approved) < tier.required:
        raise Refusal(
            R.APPROVALS_INSUFFICIENT,
            f"withdrawal {w.id}: {len(approved)} of {tier.required} required operator approvals",
        )
