"""The coordinator's TOML config: currencies, the exchange's key, operators and approval tiers."""

import tomllib
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, ValidationError, field_validator

from custody.chains.registry import known_networks
from custody.contract.amounts import Amount, parse_amount
from custody.contract.currencies import Currency
from custody.contract.withdrawals import HEX_ED25519_KEY


class ConfigError(ValueError):
    """The config file is missing, unreadable or invalid; the message names the problem."""


def _toml_amount(value: Any) -> str:
    # TOML integers are exact (64-bit) and strings allow bigger values: accept both here,
    # unlike the wire, where a JSON number could have lost precision already.
    return str(parse_amount(value))


class ApprovalTier(BaseModel):
    """Withdrawals above `above` base units need `required` operator approvals."""

    above: Amount
    required: int = Field(ge=1, le=16)

    @field_validator("above", mode="before")
    @classmethod
    def _amount_from_toml(cls, value: Any) -> str:
        return _toml_amount(value)


class CurrencyConfig(Currency):
    """A currency as configured: the public description plus its approval tiers."""

    approval_tiers: list[ApprovalTier] = Field(default_factory=list)

    @field_validator("withdrawal_fee", "auto_approve_limit", mode="before")
    @classmethod
    def _amount_from_toml(cls, value: Any) -> str:
        return _toml_amount(value)

    def public(self) -> Currency:
        """The description served over the API."""
        return Currency.model_validate(self.model_dump(include=set(Currency.model_fields)))

    def approvals_for(self, amount: int) -> int:
        """How many operator approvals a withdrawal of `amount` needs (0: automatic)."""
        if amount <= self.auto_approve_limit:
            return 0
        needed = [t.required for t in self.approval_tiers if amount > t.above]
        return max(needed, default=1)


class Operator(BaseModel):
    """An operator who approves withdrawals with an Ed25519 key."""

    name: str
    public_key: str = Field(pattern=HEX_ED25519_KEY)


class CoordinatorConfig(BaseModel):
    """The whole config file."""

    exchange_public_key: str = Field(pattern=HEX_ED25519_KEY)
    operators: list[Operator] = Field(default_factory=list)
    currencies: dict[str, CurrencyConfig]

    def currency(self, code: str) -> CurrencyConfig | None:
        """The configured currency, or None."""
        return self.currencies.get(code)

    def operator_keys(self) -> frozenset[str]:
        """Public keys allowed to approve."""
        return frozenset(o.public_key for o in self.operators)


def load_config(path: Path) -> CoordinatorConfig:
    """Read and validate the config; raise ConfigError with one readable line."""
    try:
        raw = tomllib.loads(path.read_text())
    except FileNotFoundError as e:
        raise ConfigError(f"config file not found: {path}") from e
    except (OSError, tomllib.TOMLDecodeError) as e:
        raise ConfigError(f"cannot read config {path}: {e}") from e
    return parse_config(raw)


def parse_config(raw: dict[str, Any]) -> CoordinatorConfig:
    """Validate a parsed config mapping; currencies are a list of tables keyed by `code`."""
    currencies = {}
    for entry in raw.get("currencies", []):
        code = entry.get("code", "?")
        try:
            currency = CurrencyConfig.model_validate(entry)
        except ValidationError as e:
            first = e.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise ConfigError(f"currency {code}: {where}: {first['msg']}") from e
        if currency.network not in known_networks(currency.family):
            raise ConfigError(f"currency {code}: unknown network {currency.network!r}")
        currencies[currency.code] = currency
    try:
        return CoordinatorConfig.model_validate({**raw, "currencies": currencies})
    except ValidationError as e:
        first = e.errors()[0]
        raise ConfigError(f"{'.'.join(str(p) for p in first['loc'])}: {first['msg']}") from e
