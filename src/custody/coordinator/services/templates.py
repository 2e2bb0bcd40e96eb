"""Transaction templates: built by the watcher, signed or refused by the signer, then tracked.

A withdrawal sits in at most one live template (DESIGN invariant 1). The database enforces it
with a partial unique index; a declared replacement takes the place of the template it replaces.
"""

import hashlib
import logging

from sqlalchemy import select
from sqlalchemy.orm import Session

from custody.contract.errors import ErrorCode
from custody.contract.templates import (
    BroadcastReport,
    ConfirmationReport,
    FailureOutcome,
    FailureReport,
    Rejection,
    SignedTransaction,
    Template,
    TemplateCreate,
    TemplateKind,
    TemplateStatus,
)
from custody.contract.withdrawals import WithdrawalState
from custody.coordinator.auth import Principal
from custody.coordinator.config import CoordinatorConfig
from custody.coordinator.db.tables import TemplateRow, TemplateWithdrawalRow, WithdrawalRow
from custody.coordinator.db.types import utcnow
from custody.coordinator.errors import BadRequest, Conflict, NotFound
from custody.coordinator.services import withdrawals as wd
from custody.coordinator.services.common import currency_or_error, new_id, page_after
from custody.coordinator.writes import audit

S = TemplateStatus
log = logging.getLogger(__name__)


def create(
    session: Session, config: CoordinatorConfig, principal: Principal, req: TemplateCreate
) -> Template:
    """Store an unsigned template; the same payload posted again answers the same template."""
    currency = currency_or_error(config, req.currency)
    if req.kind is TemplateKind.WITHDRAWAL and not req.withdrawal_ids:
        raise BadRequest(
            ErrorCode.INVALID_REQUEST,
            "a withdrawal template names its withdrawals",
            "withdrawal_ids",
        )
    if len(set(req.withdrawal_ids)) != len(req.withdrawal_ids):
        raise BadRequest(
            ErrorCode.INVALID_REQUEST, "withdrawal_ids repeats an id", "withdrawal_ids"
        )
    digest = hashlib.sha256(f"{currency.code}\n{req.kind}\n{req.payload}".encode()).hexdigest()
    existing = session.scalar(select(TemplateRow).where(TemplateRow.payload_hash == digest))
    if existing is not None:
        if sorted(_withdrawal_ids(session, existing.id)) != sorted(req.withdrawal_ids):
            raise Conflict(
                ErrorCode.CONFLICT, "this payload is stored for other withdrawals", "payload"
            )
        return to_model(session, existing)
    if req.kind is not TemplateKind.WITHDRAWAL and req.withdrawal_ids:
        raise BadRequest(
            ErrorCode.INVALID_REQUEST,
            f"a {req.kind.value} template pays no withdrawals",
            "withdrawal_ids",
        )
    # Sorted: every transaction locks withdrawals in the same order (no deadlock cycles).
    rows = [_lock_withdrawal(session, i, currency.code) for i in sorted(req.withdrawal_ids)]
    row = TemplateRow(
        id=new_id("tpl"),
        currency=currency.code,
        kind=req.kind.value,
        status=S.UNSIGNED.value,
        payload=req.payload,
        payload_hash=digest,
        txid=req.txid,
        replaces=req.replaces,
    )
    session.add(row)
    session.flush()
    if req.replaces is not None:
        _take_over(session, req.replaces, row, rows)
    else:
        _claim(session, row, rows)
    audit(session, principal, "template_created", row.id, ",".join(req.withdrawal_ids))
    return to_model(session, row)


def _lock_withdrawal(session: Session, wid: str, currency: str) -> WithdrawalRow:
    row = wd.get_row(session, wid, lock=True)
    if row.currency != currency:
        raise BadRequest(
            ErrorCode.INVALID_REQUEST, f"{wid} is a {row.currency} withdrawal", "withdrawal_ids"
        )
    return row


def _claim(session: Session, template: TemplateRow, rows: list[WithdrawalRow]) -> None:
    for row in rows:
        if row.state != WithdrawalState.APPROVED.value:
            code = (
                ErrorCode.WITHDRAWAL_IN_LIVE_TEMPLATE
                if row.template_id
                else ErrorCode.ILLEGAL_STATE
            )
            raise Conflict(
                code, f"withdrawal {row.id} is {row.state}, not approved", "withdrawal_ids"
            )
        session.add(TemplateWithdrawalRow(template_id=template.id, withdrawal_id=row.id, live=True))
        row.template_id = template.id
        wd.set_state(row, WithdrawalState.IN_TEMPLATE)
    session.flush()


def _take_over(session: Session, old_id: str, new: TemplateRow, rows: list[WithdrawalRow]) -> None:
    """Link a declared replacement (fee bump) to the same withdrawals, not yet live.

    The replaced template stays live until the replacement is signed: if the signer refuses the
    replacement, the old transaction is still the one that pays (and may still confirm).
    """
    old = session.get(TemplateRow, old_id, with_for_update=True)
    if old is None or old.currency != new.currency:
        raise BadRequest(
            ErrorCode.UNKNOWN_TEMPLATE,
            f"no {new.currency} template {old_id} to replace",
            "replaces",
        )
    if old.status not in (S.SIGNED.value, S.BROADCAST.value):
        raise Conflict(
            ErrorCode.ILLEGAL_STATE,
            f"template {old_id} is {old.status}: nothing to replace",
            "replaces",
        )
    if old.kind != new.kind:
        raise BadRequest(
            ErrorCode.INVALID_REQUEST,
            f"a replacement is a {old.kind} template like the one it replaces",
            "kind",
        )
    if sorted(_withdrawal_ids(session, old.id)) != sorted(r.id for r in rows):
        raise BadRequest(
            ErrorCode.INVALID_REQUEST,
            "a replacement pays exactly the same withdrawals",
            "withdrawal_ids",
        )
    pending = select(TemplateRow.id).where(
        TemplateRow.replaces == old.id,
        TemplateRow.status == S.UNSIGNED.value,
        TemplateRow.id != new.id,
    )
    if session.scalar(pending) is not None:
        raise Conflict(
            ErrorCode.ILLEGAL_STATE,
            f"template {old_id} already has a replacement waiting for the signer",
            "replaces",
        )
    for row in rows:
        session.add(TemplateWithdrawalRow(template_id=new.id, withdrawal_id=row.id, live=False))
    session.flush()


def _promote(session: Session, new: TemplateRow) -> None:
    """A replacement was signed: it takes over the live links; the old one is replaced."""
    assert new.replaces is not None
    old = get_row(session, new.replaces)
    if old.status not in (S.SIGNED.value, S.BROADCAST.value):
        # The replaced transaction settled (or failed) while this one waited for the signer:
        # both spend the same inputs, so this one can never confirm.
        new.failure_code = "replaced_tx_settled"
        new.failure_reason = f"{old.id} is {old.status}"
        _set(new, S.FAILED)
        return
    _unlink(session, old.id)
    _set(old, S.REPLACED)
    for link in session.scalars(
        select(TemplateWithdrawalRow).where(TemplateWithdrawalRow.template_id == new.id)
    ):
        link.live = True
    session.flush()
    for w in _live_withdrawals(session, new.id):
        w.template_id = new.id


def sign(session: Session, principal: Principal, tid: str, signed: SignedTransaction) -> Template:
    """Store the signer's bytes; the same bytes again are a no-op, other bytes a conflict."""
    row = get_row(session, tid)
    if row.signed_payload is not None:
        if row.signed_payload != signed.signed_payload:
            raise Conflict(
                ErrorCode.CONFLICT, "template already holds other signed bytes", "signed_payload"
            )
        return to_model(session, row)
    _expect(row, {S.UNSIGNED})
    if row.txid is not None and row.txid != signed.txid:
        raise BadRequest(
            ErrorCode.INVALID_REQUEST,
            f"txid {signed.txid} is not the template's {row.txid}",
            "txid",
        )
    row.signed_payload, row.txid = signed.signed_payload, signed.txid
    _set(row, S.SIGNED)
    if row.replaces is not None:
        _promote(session, row)
    for w in _live_withdrawals(session, row.id):
        w.txid = signed.txid
        if w.state == WithdrawalState.IN_TEMPLATE.value:
            wd.set_state(w, WithdrawalState.SIGNED)
    audit(session, principal, "template_signed", row.id, signed.txid)
    return to_model(session, row)


def reject(session: Session, principal: Principal, tid: str, rejection: Rejection) -> Template:
    """The signer refused: the template is dead and its withdrawals fail with the reason."""
    row = get_row(session, tid)
    if row.status == S.REJECTED.value:
        return to_model(session, row)
    _expect(row, {S.UNSIGNED})
    row.reject_code, row.reject_reason = rejection.code, rejection.reason
    for w in _live_withdrawals(session, row.id):
        wd.release(
            session, w, WithdrawalState.FAILED, f"signer_refused:{rejection.code}", rejection.reason
        )
    _unlink(session, row.id)
    _set(row, S.REJECTED)
    audit(session, principal, "template_rejected", row.id, f"{rejection.code}: {rejection.reason}")
    return to_model(session, row)


def broadcast(
    session: Session, principal: Principal, tid: str, report: BroadcastReport
) -> Template:
    """The node has the signed bytes."""
    row = get_row(session, tid)
    if row.txid != report.txid:
        raise BadRequest(
            ErrorCode.INVALID_REQUEST, f"txid {report.txid} is not the template's", "txid"
        )
    if row.status in (S.BROADCAST.value, S.CONFIRMED.value, S.REPLACED.value):
        return to_model(session, row)
    _expect(row, {S.SIGNED})
    _set(row, S.BROADCAST)
    for w in _live_withdrawals(session, row.id):
        wd.set_state(w, WithdrawalState.BROADCAST)
    audit(session, principal, "template_broadcast", row.id, report.txid)
    return to_model(session, row)


def confirm(
    session: Session, principal: Principal, tid: str, report: ConfirmationReport
) -> Template:
    """The transaction is buried deep enough: its withdrawals settle on the ledger, once."""
    row = get_row(session, tid)
    if row.status == S.CONFIRMED.value:
        return to_model(session, row)
    # A failed template was signed too: a deep reorg can still bring it into the chain, and
    # the chain is the truth. Whatever else now pays its withdrawals is retired below.
    _expect(row, {S.SIGNED, S.BROADCAST, S.REPLACED, S.FAILED})
    _replacement_lost(session, row)
    row.block_hash, row.block_height = report.block_hash, report.block_height
    _set(row, S.CONFIRMED)
    for w in _withdrawals(session, row.id):
        if w.template_id not in (None, row.id):
            _retire(session, principal, w.template_id, row)
        w.template_id, w.txid = row.id, row.txid
        wd.settle(session, w)
    audit(session, principal, "template_confirmed", row.id, report.block_hash)
    return to_model(session, row)


def _retire(session: Session, principal: Principal, tid: str, paid_by: TemplateRow) -> None:
    """Another transaction paid this template's withdrawals: this one must not pay them too."""
    other = get_row(session, tid)
    if other.status not in (S.UNSIGNED.value, S.SIGNED.value, S.BROADCAST.value):
        return
    if other.status != S.UNSIGNED.value:
        # Signed bytes exist and may still confirm: only people can stop that now.
        audit(session, principal, "alert_second_transaction_out", other.id, paid_by.id)
        log.warning("ALERT template %s is out while %s paid its withdrawals", other.id, paid_by.id)
    _unlink(session, other.id)
    other.failure_code, other.failure_reason = "paid_by_other_template", f"{paid_by.id} confirmed"
    _set(other, S.FAILED)


def _replacement_lost(session: Session, confirmed: TemplateRow) -> None:
    # This transaction confirmed: every replacement of it, and every replacement of those
    # (signed or still waiting for the signer), spends the same inputs or nonce and can
    # never confirm now.
    todo = [confirmed.id]
    while todo:
        parent = todo.pop()
        for new in session.scalars(select(TemplateRow).where(TemplateRow.replaces == parent)):
            todo.append(new.id)
            if new.status in (S.UNSIGNED.value, S.SIGNED.value, S.BROADCAST.value):
                _unlink(session, new.id)
                new.failure_code = "replaced_tx_confirmed"
                new.failure_reason = f"{confirmed.id} confirmed"
                _set(new, S.FAILED)


def fail(session: Session, principal: Principal, tid: str, report: FailureReport) -> Template:
    """The transaction provably cannot confirm: its withdrawals go back or fail, as reported."""
    row = get_row(session, tid)
    if row.status == S.FAILED.value:
        return to_model(session, row)
    _expect(row, {S.UNSIGNED, S.SIGNED, S.BROADCAST})
    row.failure_code, row.failure_reason = report.code, report.reason
    row.failure_outcome = report.outcome.value
    for w in _live_withdrawals(session, row.id):
        if report.outcome is FailureOutcome.RETRY:
            w.template_id, w.txid = None, None
            # Signed bytes exist: the signer will not sign another transaction for this intent
            # until operators confirm this one is dead (a reissue). Unsigned: nothing to undo.
            signed = row.signed_payload is not None
            wd.set_state(
                w, WithdrawalState.AWAITING_REISSUE if signed else WithdrawalState.APPROVED
            )
        else:
            wd.release(session, w, WithdrawalState.FAILED, report.code, report.reason)
    _unlink(session, row.id)
    _set(row, S.FAILED)
    audit(session, principal, "template_failed", row.id, f"{report.code} ({report.outcome})")
    return to_model(session, row)


def get_row(session: Session, tid: str, lock: bool = True) -> TemplateRow:
    """The template row (locked for the transaction unless only read), or 404."""
    row = session.get(TemplateRow, tid, with_for_update=lock)
    if row is None:
        raise NotFound(ErrorCode.UNKNOWN_TEMPLATE, f"no template {tid}", "template_id")
    return row


def listing(
    session: Session,
    status: TemplateStatus | None,
    currency: str | None,
    limit: int,
    after: str | None = None,
    newest_first: bool = False,
) -> list[Template]:
    """Templates filtered by status and currency, oldest first unless asked; pages by `after`."""
    stmt = select(TemplateRow)
    if status is not None:
        stmt = stmt.where(TemplateRow.status == status.value)
    if currency is not None:
        stmt = stmt.where(TemplateRow.currency == currency)
    stmt = page_after(session, stmt, TemplateRow, after, newest_first)
    return [to_model(session, r) for r in session.scalars(stmt.limit(limit))]


def _expect(row: TemplateRow, allowed: set[TemplateStatus]) -> None:
    if TemplateStatus(row.status) not in allowed:
        names = ", ".join(sorted(s.value for s in allowed))
        raise Conflict(
            ErrorCode.ILLEGAL_STATE, f"template {row.id} is {row.status} (needs {names})", "status"
        )


def _set(row: TemplateRow, status: TemplateStatus) -> None:
    row.status = status.value
    row.updated_at = utcnow()


def _unlink(session: Session, tid: str) -> None:
    for link in session.scalars(
        select(TemplateWithdrawalRow).where(TemplateWithdrawalRow.template_id == tid)
    ):
        link.live = False
    session.flush()


def _withdrawal_ids(session: Session, tid: str) -> list[str]:
    return list(
        session.scalars(
            select(TemplateWithdrawalRow.withdrawal_id).where(
                TemplateWithdrawalRow.template_id == tid
            )
        )
    )


def _withdrawals(session: Session, tid: str, lock: bool = True) -> list[WithdrawalRow]:
    ids = _withdrawal_ids(session, tid)
    return [wd.get_row(session, i, lock=lock) for i in sorted(ids)]


def _live_withdrawals(session: Session, tid: str) -> list[WithdrawalRow]:
    stmt = select(TemplateWithdrawalRow.withdrawal_id).where(
        TemplateWithdrawalRow.template_id == tid, TemplateWithdrawalRow.live.is_(True)
    )
    return [wd.get_row(session, i, lock=True) for i in sorted(session.scalars(stmt))]


def to_model(session: Session, row: TemplateRow) -> Template:
    """The API's view of a template, with the signed intents and approvals the signer checks."""
    return Template(
        id=row.id,
        currency=row.currency,
        kind=TemplateKind(row.kind),
        status=S(row.status),
        payload=row.payload,
        payload_hash=row.payload_hash,
        txid=row.txid,
        replaces=row.replaces,
        withdrawals=[wd.to_model(session, w) for w in _withdrawals(session, row.id, lock=False)],
        signed_payload=row.signed_payload,
        rejection=Rejection(code=row.reject_code, reason=row.reject_reason or "")
        if row.reject_code
        else None,
        failure=FailureReport(
            code=row.failure_code,
            reason=row.failure_reason or "",
            outcome=FailureOutcome(row.failure_outcome or "fail"),
        )
        if row.failure_code
        else None,
        block_hash=row.block_hash,
        block_height=row.block_height,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )
