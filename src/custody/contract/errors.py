"""Stable error codes shared by all processes, and the JSON error body the API returns."""

from enum import StrEnum

from pydantic import BaseModel


class ErrorCode(StrEnum):
    """Every error the API can return. Codes are stable: clients branch on them."""

    # request shape
    INVALID_REQUEST = "invalid_request"
    INVALID_AMOUNT = "invalid_amount"
    INVALID_ADDRESS = "invalid_address"
    INVALID_SIGNATURE = "invalid_signature"
    BODY_TOO_LARGE = "body_too_large"
    UNKNOWN_CURRENCY = "unknown_currency"
    # auth
    UNAUTHENTICATED = "unauthenticated"
    FORBIDDEN = "forbidden"
    # lookups
    NOT_FOUND = "not_found"
    UNKNOWN_WITHDRAWAL = "unknown_withdrawal"
    UNKNOWN_TEMPLATE = "unknown_template"
    UNKNOWN_ADDRESS = "unknown_address"
    UNKNOWN_OPERATOR = "unknown_operator"
    # conflicts and state
    INSUFFICIENT_FUNDS = "insufficient_funds"
    ILLEGAL_STATE = "illegal_state"
    CONFLICT = "conflict"
    REQUEST_ID_CONFLICT = "request_id_conflict"
    IDEMPOTENCY_KEY_REUSED = "idempotency_key_reused"
    IDEMPOTENCY_KEY_REQUIRED = "idempotency_key_required"
    ADDRESS_POOL_EMPTY = "address_pool_empty"
    WITHDRAWAL_IN_LIVE_TEMPLATE = "withdrawal_in_live_template"
    DEPOSIT_MISMATCH = "deposit_mismatch"
    DUPLICATE_APPROVAL = "duplicate_approval"
    # the server itself (never expected; logged with a reference)
    INTERNAL = "internal_error"


class ErrorDetail(BaseModel):
    """What went wrong: a stable code, a readable message and, where one is to blame, the field."""

    code: ErrorCode
    message: str
    field: str | None = None


class ErrorBody(BaseModel):
    """The body of every 4xx answer."""

    error: ErrorDetail
