"""Amounts: decimal strings of base units, unbounded, never floats."""

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from custody.contract.amounts import (
    Amount,
    AmountError,
    from_decimal_string,
    parse_amount,
    to_decimal_string,
)


class Holder(BaseModel):
    amount: Amount


@pytest.mark.parametrize(
    "bad", ["", "-1", "01", "1.0", "1e3", " 1", "0x10", "١٢", 1.5, True, None, "9" * 79]
)
def test_refused(bad: object) -> None:
    with pytest.raises(AmountError):
        parse_amount(bad)


@given(st.integers(min_value=0, max_value=2**256))
def test_round_trip_through_json(value: int) -> None:
    text = Holder(amount=value).model_dump_json()
    assert text == f'{{"amount":"{value}"}}'
    assert Holder.model_validate_json(text).amount == value


def test_model_refuses_a_float() -> None:
    with pytest.raises(ValidationError):
        Holder.model_validate({"amount": 1.0})


@pytest.mark.parametrize(
    ("units", "decimals", "text"),
    [
        (150_000_000, 8, "1.5"),
        (1, 8, "0.00000001"),
        (10**30, 30, "1"),
        (0, 18, "0"),
        (-5, 1, "-0.5"),
    ],
)
def test_decimal_strings_for_people(units: int, decimals: int, text: str) -> None:
    assert to_decimal_string(units, decimals) == text
    if units >= 0:
        assert from_decimal_string(text, decimals) == units


def test_over_precision_is_refused() -> None:
    with pytest.raises(AmountError, match="more than 8 decimal places"):
        from_decimal_string("0.000000001", 8)
