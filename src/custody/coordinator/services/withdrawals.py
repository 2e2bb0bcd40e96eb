"""Withdrawals: signed intents, holds on the user's balance, approvals and cancellation."""

import logging

from sqlalchemy import select
from sqlalchemy.orm import Session

from custody.contract.errors import ErrorCode
from custody.contract.intent import approval_bytes, intent_bytes, reissue_bytes, verify
from custody.contract.withdrawals import (
    Approval,
    Reissue,
    Withdrawal,
    WithdrawalIntent,
    WithdrawalRequest,
    WithdrawalState,
)
from custody.coordinator import ledger
from custody.coordinator.auth import Principal
from custody.coordinator.config import CoordinatorConfig
from custody.coordinator.db.tables import (
    ApprovalRow,
    AuditRow,
    ReissueRow,
    TemplateRow,
    TemplateWithdrawalRow,
    WithdrawalRow,
)
from custody.coordinator.db.types import utcnow
from custody.coordinator.errors import BadRequest, Conflict, NotFound
from custody.coordinator.services.common import checked_address, currency_or_error, new_id
from custody.coordinator.writes import audit

log = logging.getLogger(__name__)
CANCELLABLE = frozenset(
    {WithdrawalState.REQUESTED, WithdrawalState.APPROVED, WithdrawalState.AWAITING_REISSUE}
)
# Templates whose signed bytes a dead withdrawal leaves behind in the signer's journal.
DEAD_STATUSES = ("failed", "replaced")


def request(
    session: Session, config: CoordinatorConfig, principal: Principal, req: WithdrawalRequest
) -> Withdrawal:
    """Accept a signed intent once per request_id and hold amount + fee on the user's balance."""
    intent = req.intent
    currency = currency_or_error(config, intent.currency, "intent.currency")
    destination = checked_address(currency, intent.destination, "intent.destination")
    if intent.amount <= 0:
        raise BadRequest(
            ErrorCode.INVALID_AMOUNT, "intent.amount must be positive", "intent.amount"
        )
    if destination != intent.destination:
        # The exchange signed the string it sent; normalising it would change the signed bytes.
        raise BadRequest(
            ErrorCode.INVALID_ADDRESS,
            f"intent.destination must be given in canonical form: {destination}",
            "intent.destination",
        )
    if not verify(config.exchange_public_key, intent_bytes(intent), req.signature):
        raise BadRequest(
            ErrorCode.INVALID_SIGNATURE,
            "signature is not the exchange's over this intent",
            "signature",
        )
    # Lock the user's balance first: concurrent identical requests queue here, and the
    # second one then finds the first one's row below.
    ledger.lock_balance(session, ledger.available(intent.user_id), currency.code)
    existing = session.scalar(
        select(WithdrawalRow).where(WithdrawalRow.request_id == intent.request_id)
    )
    if existing is not None:
        return _same_request(session, existing, req)
    fee = currency.withdrawal_fee
    row = WithdrawalRow(
        id=new_id("wd"),
        request_id=intent.request_id,
        user_id=intent.user_id,
        currency=currency.code,
        amount=intent.amount,
        destination=intent.destination,
        signature=req.signature,
        fee=fee,
        state=WithdrawalState.REQUESTED.value,
        approvals_required=currency.approvals_for(intent.amount),
    )
    session.add(row)
    session.flush()
    ledger.post(
        session,
        f"withdrawal:{row.id}:hold",
        "withdrawal_hold",
        currency.code,
        {
            ledger.available(row.user_id): -(row.amount + fee),
            ledger.held(row.user_id): row.amount + fee,
        },
    )
    if row.approvals_required == 0:
        row.state = WithdrawalState.APPROVED.value
    audit(session, principal, "withdrawal_requested", row.id, intent.request_id)
    return to_model(session, row)


def _same_request(session: Session, row: WithdrawalRow, req: WithdrawalRequest) -> Withdrawal:
    if intent_of(row) != req.intent or row.signature != req.signature:
        raise Conflict(
            ErrorCode.REQUEST_ID_CONFLICT,
            f"request_id {row.request_id} was used for a different intent",
            "intent.request_id",
        )
    return to_model(session, row)


def approve(
    session: Session, config: CoordinatorConfig, principal: Principal, wid: str, approval: Approval
) -> Withdrawal:
    """Record an operator's signature; enough of them move the withdrawal to approved."""
    row = get_row(session, wid, lock=True)
    if approval.operator_key not in config.operator_keys():
        raise BadRequest(
            ErrorCode.UNKNOWN_OPERATOR, "operator_key is not a configured operator", "operator_key"
        )
    if not verify(approval.operator_key, approval_bytes(intent_of(row)), approval.signature):
        raise BadRequest(
            ErrorCode.INVALID_SIGNATURE,
            "signature is not this operator's approval of this intent",
            "signature",
        )
    known = session.scalar(
        select(ApprovalRow).where(
            ApprovalRow.withdrawal_id == row.id, ApprovalRow.operator_key == approval.operator_key
        )
    )
    if known is not None:
        return to_model(session, row)  # the same approval again: idempotent
    if WithdrawalState(row.state) is not WithdrawalState.REQUESTED:
        raise Conflict(
            ErrorCode.ILLEGAL_STATE, f"withdrawal is {row.state}, not awaiting approval", "state"
        )
    session.add(ApprovalRow(withdrawal_id=row.id, **approval.model_dump()))
    session.flush()
    if _approval_count(session, row.id) >= row.approvals_required:
        _set(row, WithdrawalState.APPROVED)
    audit(session, principal, "withdrawal_approved", row.id, approval.operator_key)
    return to_model(session, row)


def reissue(
    session: Session, config: CoordinatorConfig, principal: Principal, wid: str, body: Reissue
) -> Withdrawal:
    """Record an operator's word that a signed transaction of this withdrawal is dead; once every
    dead transaction has enough of them, the withdrawal may be paid by a new one."""
    row = get_row(session, wid, lock=True)
    if body.operator_key not in config.operator_keys():
        raise BadRequest(
            ErrorCode.UNKNOWN_OPERATOR, "operator_key is not a configured operator", "operator_key"
        )
    txid = body.txid.lower()
    if not verify(body.operator_key, reissue_bytes(intent_of(row), txid), body.signature):
        raise BadRequest(
            ErrorCode.INVALID_SIGNATURE,
            "signature is not this operator's reissue of this intent and txid",
            "signature",
        )
    known = select(ReissueRow.id).where(
        ReissueRow.withdrawal_id == row.id,
        ReissueRow.txid == txid,
        ReissueRow.operator_key == body.operator_key,
    )
    if session.scalar(known) is not None:
        return to_model(session, row)
    if WithdrawalState(row.state) is not WithdrawalState.AWAITING_REISSUE:
        raise Conflict(ErrorCode.ILLEGAL_STATE, f"withdrawal is {row.state}", "state")
    dead = dead_txids(session, row.id)
    if txid not in dead:
        raise BadRequest(
            ErrorCode.INVALID_REQUEST, f"{txid} is no failed transaction of this withdrawal", "txid"
        )
    session.add(ReissueRow(withdrawal_id=row.id, txid=txid, **body.model_dump(exclude={"txid"})))
    session.flush()
    needed = max(1, row.approvals_required)
    if all(len(_reissuers(session, row.id, t)) >= needed for t in dead):
        _set(row, WithdrawalState.APPROVED)
    audit(session, principal, "withdrawal_reissued", row.id, f"{txid} by {body.operator_key}")
    return to_model(session, row)


def dead_txids(session: Session, wid: str) -> set[str]:
    """Txids of this withdrawal's signed templates that failed or were replaced."""
    stmt = (
        select(TemplateRow.txid)
        .join(TemplateWithdrawalRow, TemplateWithdrawalRow.template_id == TemplateRow.id)
        .where(
            TemplateWithdrawalRow.withdrawal_id == wid,
            TemplateRow.status.in_(DEAD_STATUSES),
            TemplateRow.signed_payload.is_not(None),
        )
    )
    return {t.lower() for t in session.scalars(stmt) if t}


def _reissuers(session: Session, wid: str, txid: str) -> set[str]:
    stmt = select(ReissueRow.operator_key).where(
        ReissueRow.withdrawal_id == wid, ReissueRow.txid == txid
    )
    return set(session.scalars(stmt))


def cancel(session: Session, principal: Principal, wid: str, reason: str) -> Withdrawal:
    """Cancel before signing and release the hold; an unsigned template holding it is voided."""
    row = get_row(session, wid, lock=True)
    state = WithdrawalState(row.state)
    if state is WithdrawalState.CANCELLED:
        return to_model(session, row)
    if state is WithdrawalState.IN_TEMPLATE:
        _void_unsigned_template(session, row)
    elif state not in CANCELLABLE:
        raise Conflict(
            ErrorCode.ILLEGAL_STATE,
            f"a {state.value} withdrawal can no longer be cancelled",
            "state",
        )
    release(session, row, WithdrawalState.CANCELLED, "cancelled", reason)
    audit(session, principal, "withdrawal_cancelled", row.id, reason)
    return to_model(session, row)


def _void_unsigned_template(session: Session, row: WithdrawalRow) -> None:
    template = (
        session.get(TemplateRow, row.template_id, with_for_update=True) if row.template_id else None
    )
    if template is None or template.status != "unsigned":
        raise Conflict(
            ErrorCode.ILLEGAL_STATE, "the withdrawal's transaction is already signed", "state"
        )
    template.status = "voided"
    template.updated_at = utcnow()
    for link in session.scalars(
        select(TemplateWithdrawalRow).where(TemplateWithdrawalRow.template_id == template.id)
    ):
        link.live = False
        other = session.get(WithdrawalRow, link.withdrawal_id)
        if other is not None and other.id != row.id:
            other.template_id = None
            _set(other, WithdrawalState.APPROVED)
    session.flush()


def release(
    session: Session, row: WithdrawalRow, state: WithdrawalState, code: str, reason: str
) -> None:
    """End a withdrawal without paying it: the hold goes back to the user's available balance."""
    if row.state == WithdrawalState.CONFIRMED.value:
        raise Conflict(
            ErrorCode.ILLEGAL_STATE,
            f"withdrawal {row.id} is confirmed: nothing to release",
            "state",
        )
    total = row.amount + row.fee
    ledger.post(
        session,
        f"withdrawal:{row.id}:release",
        "withdrawal_release",
        row.currency,
        {ledger.held(row.user_id): -total, ledger.available(row.user_id): total},
    )
    row.failure_code, row.failure_reason = code, reason
    _set(row, state)


def settle(session: Session, row: WithdrawalRow) -> None:
    """The payment confirmed: the hold leaves the user; the fee goes to revenue."""
    released = row.state in (WithdrawalState.FAILED.value, WithdrawalState.CANCELLED.value)
    # A payment the chain confirmed for a withdrawal whose hold was already given back must
    # still be booked: it then comes out of the user's available balance (which may go
    # negative) and is flagged for the operators. The chain is the truth.
    source = ledger.available(row.user_id) if released else ledger.held(row.user_id)
    ledger.post(
        session,
        f"withdrawal:{row.id}:settle",
        "withdrawal_settle",
        row.currency,
        {
            source: -(row.amount + row.fee),
            ledger.WORLD_WITHDRAWALS: row.amount,
            ledger.FEES: row.fee,
        },
        allow_overdraft=released,
    )
    if released:
        log.warning("ALERT withdrawal %s paid on chain after its hold was released", row.id)
        session.add(
            AuditRow(
                actor="coordinator",
                action="alert_paid_after_release",
                object_id=row.id,
                detail=f"{row.state}: {row.failure_code}",
            )
        )
    _set(row, WithdrawalState.CONFIRMED)


def get_row(session: Session, wid: str, lock: bool = False) -> WithdrawalRow:
    """The withdrawal row, or 404."""
    row = session.get(WithdrawalRow, wid, with_for_update=lock)
    if row is None:
        raise NotFound(ErrorCode.UNKNOWN_WITHDRAWAL, f"no withdrawal {wid}", "withdrawal_id")
    return row


def listing(
    session: Session,
    currency: str | None,
    state: WithdrawalState | None,
    user_id: str | None,
    limit: int,
) -> list[Withdrawal]:
    """Withdrawals filtered by currency, state and user, oldest first (the watcher's order)."""
    stmt = select(WithdrawalRow).order_by(WithdrawalRow.created_at, WithdrawalRow.id).limit(limit)
    if currency is not None:
        stmt = stmt.where(WithdrawalRow.currency == currency)
    if state is not None:
        stmt = stmt.where(WithdrawalRow.state == state.value)
    if user_id is not None:
        stmt = stmt.where(WithdrawalRow.user_id == user_id)
    return [to_model(session, r) for r in session.scalars(stmt)]


def intent_of(row: WithdrawalRow) -> WithdrawalIntent:
    """The intent exactly as the exchange signed it."""
    return WithdrawalIntent(
        request_id=row.request_id,
        user_id=row.user_id,
        currency=row.currency,
        amount=row.amount,
        destination=row.destination,
    )


def _approval_count(session: Session, wid: str) -> int:
    return len(
        list(session.scalars(select(ApprovalRow.id).where(ApprovalRow.withdrawal_id == wid)))
    )


def _set(row: WithdrawalRow, state: WithdrawalState) -> None:
    row.state = state.value
    row.updated_at = utcnow()


def set_state(row: WithdrawalRow, state: WithdrawalState) -> None:
    """Move a withdrawal to `state` (the templates service drives signed/broadcast)."""
    _set(row, state)


def to_model(session: Session, row: WithdrawalRow) -> Withdrawal:
    """The API's view of a withdrawal, with its approvals."""
    approvals = session.scalars(
        select(ApprovalRow).where(ApprovalRow.withdrawal_id == row.id).order_by(ApprovalRow.id)
    )
    return Withdrawal(
        id=row.id,
        intent=intent_of(row),
        signature=row.signature,
        fee=row.fee,
        state=WithdrawalState(row.state),
        approvals=[Approval(operator_key=a.operator_key, signature=a.signature) for a in approvals],
        reissues=[
            Reissue(txid=r.txid, operator_key=r.operator_key, signature=r.signature)
            for r in session.scalars(
                select(ReissueRow).where(ReissueRow.withdrawal_id == row.id).order_by(ReissueRow.id)
            )
        ],
        approvals_required=row.approvals_required,
        template_id=row.template_id,
        txid=row.txid,
        failure_code=row.failure_code,
        failure_reason=row.failure_reason,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )
