"""Lookups shared by the services: currencies and destination addresses checked against config."""

import uuid

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
