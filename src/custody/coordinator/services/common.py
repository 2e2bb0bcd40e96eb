"""Lookups shared by the services: currencies and destination addresses checked against config."""

import uuid
from typing import Any

from sqlalchemy import Select, tuple_
from sqlalchemy.orm import Session

from custody.chains.errors import AddressError
from custody.chains.registry import validate_address
from custody.contract.errors import ErrorCode
from custody.coordinator.config import CoordinatorConfig, CurrencyConfig
from custody.coordinator.errors import BadRequest


def currency_or_error(
    config: CoordinatorConfig, code: str, field: str = "currency"
) -> CurrencyConfig:
    """The configured currency, or a 422 naming the field."""
    currency = config.currency(code)
    if currency is None:
        raise BadRequest(ErrorCode.UNKNOWN_CURRENCY, f"unknown currency {code!r}", field)
    return currency


def checked_address(currency: CurrencyConfig, address: str, field: str) -> str:
    """The address normalized for its network, or a 422 saying what is wrong with it."""
    try:
        return validate_address(currency.family.value, currency.network, address)
    except AddressError as e:
        raise BadRequest(
            ErrorCode.INVALID_ADDRESS, f"{field}: {e} (currency {currency.code})", field
        ) from e


def new_id(prefix: str) -> str:
    """A random object id with a readable prefix (wd_, tpl_, dep_)."""
    return f"{prefix}_{uuid.uuid4().hex}"


def page_after(
    session: Session, stmt: Select[Any], model: Any, after: str | None, newest_first: bool
) -> Select[Any]:
    """Order by (created_at, id) and continue after the row `after` (keyset paging).

    Keyset, not offset: rows that change state between two pages are neither skipped nor
    repeated, which matters when a watcher pages through deposits it is moving along.
    """
    key = tuple_(model.created_at, model.id)
    stmt = (
        stmt.order_by(model.created_at.desc(), model.id.desc())
        if newest_first
        else stmt.order_by(model.created_at, model.id)
    )
    if after is None:
        return stmt
    last = session.get(model, after)
    if last is None:
        raise BadRequest(ErrorCode.INVALID_REQUEST, f"after: no such item {after!r}", "after")
    bound = tuple_(last.created_at, last.id)
    return stmt.where(key < bound) if newest_first else stmt.where(key > bound)
