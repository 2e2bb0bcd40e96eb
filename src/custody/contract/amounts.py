"""Amounts in integer base units: unbounded Python ints, carried in JSON as decimal strings."""

import re
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer, WithJsonSchema

# 78 digits hold 2^256 (wei); Nano raw needs 39. Larger is never a real amount.
MAX_DIGITS = 78
_DIGITS = re.compile(r"(0|[1-9][0-9]*)")


class AmountError(ValueError):
    """An amount that is not a canonical decimal string of base units."""


def parse_amount(value: Any) -> int:
    """Parse a JSON amount: a string of base-unit digits, never a number or a decimal."""
    if isinstance(value, bool) or isinstance(value, float):
        raise AmountError("amount must be a string of integer base units, not a number")
    if isinstance(value, int):
        # Python callers pass ints. JSON numbers are refused before validation, at the API's
        # edge (coordinator routes), because Python cannot tell them apart once parsed.
        if value < 0:
            raise AmountError("amount must not be negative")
        return value
    if not isinstance(value, str):
        raise AmountError("amount must be a string of integer base units")
    if "." in value or "e" in value.lower():
        raise AmountError("amount must be an integer in base units (no decimals)")
    if not _DIGITS.fullmatch(value):
        raise AmountError(
            "amount must be a non-negative decimal integer without sign or leading zeros"
        )
    if len(value) > MAX_DIGITS:
        raise AmountError(f"amount has more than {MAX_DIGITS} digits")
    return int(value)


_SCHEMA = {"type": "string", "pattern": "^(0|[1-9][0-9]*)$", "maxLength": MAX_DIGITS}

# Amount: base units; serialized as a decimal string (JSON numbers lose precision past 2^53).
Amount = Annotated[
    int,
    BeforeValidator(parse_amount),
    PlainSerializer(lambda v: str(v), return_type=str),
    WithJsonSchema(_SCHEMA),
]


def _wire_signed(value: Any) -> int:
    if isinstance(value, str) and value.startswith("-"):
        return -parse_amount(value[1:])
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return parse_amount(value)


# SignedAmount: balances, which a reversed deposit can drive below zero.
SignedAmount = Annotated[
    int,
    BeforeValidator(_wire_signed),
    PlainSerializer(lambda v: str(v), return_type=str),
    WithJsonSchema({"type": "string", "pattern": "^-?(0|[1-9][0-9]*)$"}),
]


def to_decimal_string(amount: int, decimals: int) -> str:
    """Format base units for people: 150000000 with 8 decimals is '1.5'."""
    sign = "-" if amount < 0 else ""
    whole, frac = divmod(abs(amount), 10**decimals)
    if decimals == 0 or frac == 0:
        return f"{sign}{whole}"
    return f"{sign}{whole}.{str(frac).rjust(decimals, '0').rstrip('0')}"


def from_decimal_string(text: str, decimals: int) -> int:
    """Parse a human decimal ('1.5') into base units; more decimals than the unit has is an error."""
    if not re.fullmatch(r"[0-9]+(\.[0-9]+)?", text):
        raise AmountError(f"not a decimal amount: {text!r}")
    whole, _, frac = text.partition(".")
    if len(frac) > decimals:
        raise AmountError(f"amount has more than {decimals} decimal places")
    scale: int = 10**decimals
    return int(whole) * scale + int(frac.ljust(decimals, "0") or "0")
