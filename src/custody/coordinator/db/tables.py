"""The coordinator's tables: the only database of the stack."""

from datetime import datetime

from sqlalchemy import (
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from custody.coordinator.db.types import BigAmount, UTCDateTime, utcnow


class Base(DeclarativeBase):
    """Declarative base of every coordinator table."""


class ApiToken(Base):
    """A caller's bearer token, stored as its SHA-256 only, with exactly one role."""

    __tablename__ = "api_tokens"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(128))
    role: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class PoolAddressRow(Base):
    """An address the signer derived; user_id is set once the exchange hands it out."""

    __tablename__ = "addresses"
    __table_args__ = (
        UniqueConstraint("currency", "address", name="uq_address"),
        Index("ix_address_pick", "currency", "branch", "user_id", "reserved_at"),
        Index("ix_address_import", "currency", "imported"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    currency: Mapped[str] = mapped_column(String(12))
    address: Mapped[str] = mapped_column(String(128))
    derivation_path: Mapped[str] = mapped_column(String(128))
    public_key: Mapped[str] = mapped_column(String(130))
    fingerprint: Mapped[str | None] = mapped_column(String(8), nullable=True)
    branch: Mapped[str] = mapped_column(String(16))
    user_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    assigned_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    reserved_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    imported: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CurrentDepositAddress(Base):
    """The address a user currently deposits to, one per (user, currency)."""

    __tablename__ = "deposit_addresses"
    user_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    currency: Mapped[str] = mapped_column(String(12), primary_key=True)
    address_id: Mapped[int] = mapped_column(ForeignKey("addresses.id"))


class DepositRow(Base):
    """A deposit, keyed by (currency, txid, output_index): exactly one row per payment."""

    __tablename__ = "deposits"
    __table_args__ = (
        UniqueConstraint("currency", "txid", "output_index", name="uq_deposit_key"),
        Index("ix_deposit_state", "currency", "state"),
    )
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    currency: Mapped[str] = mapped_column(String(12))
    txid: Mapped[str] = mapped_column(String(128))
    output_index: Mapped[int] = mapped_column(Integer)
    address: Mapped[str] = mapped_column(String(128))
    user_id: Mapped[str] = mapped_column(String(128))
    amount: Mapped[int] = mapped_column(BigAmount)
    block_hash: Mapped[str | None] = mapped_column(String(128), nullable=True)
    block_height: Mapped[int | None] = mapped_column(Integer, nullable=True)
    confirmations: Mapped[int] = mapped_column(Integer, default=0)
    state: Mapped[str] = mapped_column(String(16))
    credit_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class DepositEventRow(Base):
    """Every state change of a deposit, in order: the exchange's feed."""

    __tablename__ = "deposit_events"
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    deposit_id: Mapped[str] = mapped_column(ForeignKey("deposits.id"), index=True)
    state: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class WithdrawalRow(Base):
    """A withdrawal: the exchange's signed intent and where it stands."""

    __tablename__ = "withdrawals"
    __table_args__ = (Index("ix_withdrawal_state", "currency", "state"),)
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    request_id: Mapped[str] = mapped_column(String(128), unique=True)
    user_id: Mapped[str] = mapped_column(String(128), index=True)
    currency: Mapped[str] = mapped_column(String(12))
    amount: Mapped[int] = mapped_column(BigAmount)
    destination: Mapped[str] = mapped_column(String(128))
    signature: Mapped[str] = mapped_column(String(128))
    fee: Mapped[int] = mapped_column(BigAmount)
    state: Mapped[str] = mapped_column(String(16))
    approvals_required: Mapped[int] = mapped_column(Integer, default=0)
    template_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    txid: Mapped[str | None] = mapped_column(String(128), nullable=True)
    failure_code: Mapped[str | None] = mapped_column(String(64), nullable=True)
    failure_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ApprovalRow(Base):
    """An operator's signature approving one withdrawal; one per operator key."""

    __tablename__ = "approvals"
    __table_args__ = (UniqueConstraint("withdrawal_id", "operator_key", name="uq_approval"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    withdrawal_id: Mapped[str] = mapped_column(ForeignKey("withdrawals.id"), index=True)
    operator_key: Mapped[str] = mapped_column(String(64))
    signature: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ReissueRow(Base):
    """An operator's signature that one signed transaction of a withdrawal can never confirm."""

    __tablename__ = "reissues"
    __table_args__ = (UniqueConstraint("withdrawal_id", "txid", "operator_key", name="uq_reissue"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    withdrawal_id: Mapped[str] = mapped_column(ForeignKey("withdrawals.id"), index=True)
    txid: Mapped[str] = mapped_column(String(128))
    operator_key: Mapped[str] = mapped_column(String(64))
    signature: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class TemplateRow(Base):
    """An unsigned transaction and, once the signer answered, its signed bytes."""

    __tablename__ = "templates"
    __table_args__ = (Index("ix_template_status", "currency", "status"),)
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    currency: Mapped[str] = mapped_column(String(12))
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    payload: Mapped[str] = mapped_column(Text)
    payload_hash: Mapped[str] = mapped_column(String(64), unique=True)
    txid: Mapped[str | None] = mapped_column(String(128), nullable=True)
    replaces: Mapped[str | None] = mapped_column(String(40), nullable=True)
    signed_payload: Mapped[str | None] = mapped_column(Text, nullable=True)
    reject_code: Mapped[str | None] = mapped_column(String(64), nullable=True)
    reject_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    failure_code: Mapped[str | None] = mapped_column(String(64), nullable=True)
    failure_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    failure_outcome: Mapped[str | None] = mapped_column(String(16), nullable=True)
    block_hash: Mapped[str | None] = mapped_column(String(128), nullable=True)
    block_height: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class TemplateWithdrawalRow(Base):
    """Which withdrawals a template pays. `live` is true for at most one template per withdrawal.

    The partial unique index is invariant 1 in the database itself: no code path can put one
    withdrawal into two live templates, whatever races happen above it.
    """

    __tablename__ = "template_withdrawals"
    __table_args__ = (
        Index(
            "uq_withdrawal_live_template",
            "withdrawal_id",
            unique=True,
            sqlite_where=text("live = 1"),
            postgresql_where=text("live"),
        ),
    )
    template_id: Mapped[str] = mapped_column(ForeignKey("templates.id"), primary_key=True)
    withdrawal_id: Mapped[str] = mapped_column(ForeignKey("withdrawals.id"), primary_key=True)
    live: Mapped[bool] = mapped_column(Boolean, default=True)


class LedgerEventRow(Base):
    """One business event of the ledger; its key makes it happen at most once."""

    __tablename__ = "ledger_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(32))
    currency: Mapped[str] = mapped_column(String(12))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class LedgerPostingRow(Base):
    """One leg of an event: a signed amount on one account. An event's legs sum to zero."""

    __tablename__ = "ledger_postings"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("ledger_events.id"), index=True)
    account: Mapped[str] = mapped_column(String(200), index=True)
    currency: Mapped[str] = mapped_column(String(12))
    amount: Mapped[int] = mapped_column(BigAmount)


class LedgerAccountRow(Base):
    """The running balance of one ledger account, updated in the same transaction as postings."""

    __tablename__ = "ledger_accounts"
    account: Mapped[str] = mapped_column(String(200), primary_key=True)
    currency: Mapped[str] = mapped_column(String(12), primary_key=True)
    balance: Mapped[int] = mapped_column(BigAmount)


class CursorRow(Base):
    """The watcher's scan position per currency."""

    __tablename__ = "chain_cursors"
    currency: Mapped[str] = mapped_column(String(12), primary_key=True)
    cursor: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class IdempotencyRow(Base):
    """The first answer to a POST carrying an Idempotency-Key, replayed on every repeat."""

    __tablename__ = "idempotency_keys"
    token_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(Integer)
    response_body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AuditRow(Base):
    """Who did what: every state-changing call, in order."""

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor: Mapped[str] = mapped_column(String(160))
    action: Mapped[str] = mapped_column(String(64))
    object_id: Mapped[str] = mapped_column(String(200))
    detail: Mapped[str] = mapped_column(Text, default="")
