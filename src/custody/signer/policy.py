"""The signing policy from a TOML file: caps, limits, approval tiers, exchange key, allowlist."""

import re
import tomllib
from pathlib import Path
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from custody.chains import registry
from custody.chains.errors import AddressError
from custody.contract.amounts import Amount
from custody.contract.currencies import ChainFamily
from custody.contract.withdrawals import HEX_ED25519_KEY
from custody.signer.errors import PolicyError


class ApprovalTier(BaseModel):
    """Amounts up to `up_to` (inclusive; no bound on the last tier) need `required` approvals."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    up_to: Amount | None = None
    required: int = Field(ge=0, le=100)
    operators: tuple[str, ...] = ()

    @field_validator("operators")
    @classmethod
    def _keys(cls, keys: tuple[str, ...]) -> tuple[str, ...]:
        for key in keys:
            if not re.fullmatch(HEX_ED25519_KEY, key):
                raise ValueError(f"operator key {key!r} is not 64 lowercase hex digits")
        if len(set(keys)) != len(keys):
            raise ValueError("an operator key is listed twice")
        return keys

    @model_validator(mode="after")
    def _enough_operators(self) -> "ApprovalTier":
        if self.required > len(self.operators):
            raise ValueError(
                f"tier needs {self.required} approvals but lists {len(self.operators)} operators"
            )
        return self


class CurrencyPolicy(BaseModel):
    """What the signer may sign for one currency."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    code: str = Field(pattern=r"^[A-Z0-9]{2,12}$")
    family: ChainFamily
    network: str
    max_fee: Amount
    max_fee_rate: Amount = Field(description="base units per virtual byte (or gas unit)")
    max_per_withdrawal: Amount
    max_per_day: Amount
    approvals: tuple[ApprovalTier, ...] = Field(min_length=1)
    allowlist: frozenset[str] | None = None
    # Nano: the representative that receive, open and change blocks must name (required there).
    representative: str | None = None

    @field_validator("representative")
    @classmethod
    def _representative(cls, address: str | None, info: ValidationInfo) -> str | None:
        family, network = info.data.get("family"), info.data.get("network")
        if address is None or family is None or network is None:
            return address
        if family is not ChainFamily.NANO:
            raise ValueError("only nano currencies name a representative")
        try:
            return registry.validate_address(family, network, address)
        except AddressError as e:
            raise ValueError(f"representative {address!r}: {e}") from e

    @model_validator(mode="after")
    def _nano_representative(self) -> "CurrencyPolicy":
        if self.family is ChainFamily.NANO and self.representative is None:
            raise ValueError("a nano currency names its representative")
        return self

    # Ethereum: the BIP44 account of the currency's keys (m/44'/60'/account'/…): ETH and each
    # token have their own, hence their own deposit addresses, hot wallet and nonces. A token
    # names its ERC-20 contract; `max_gas` caps the gas limit of one transaction.
    account: int = Field(default=0, ge=0, le=2**31 - 1)
    token_contract: str | None = None
    max_gas: Amount | None = None

    @field_validator("token_contract")
    @classmethod
    def _token_contract(cls, address: str | None, info: ValidationInfo) -> str | None:
        family, network = info.data.get("family"), info.data.get("network")
        if address is None or family is None or network is None:
            return address
        try:
            return registry.validate_address(family, network, address)
        except AddressError as e:
            raise ValueError(f"token_contract {address!r}: {e}") from e

    @model_validator(mode="after")
    def _ethereum_fields(self) -> "CurrencyPolicy":
        if self.family is ChainFamily.ETHEREUM:
            if self.max_gas is None:
                raise ValueError("an ethereum currency names its max_gas")
        elif self.account or self.token_contract is not None or self.max_gas is not None:
            raise ValueError("account, token_contract and max_gas are for ethereum currencies")
        return self

    @field_validator("network")
    @classmethod
    def _known_network(cls, network: str, info: ValidationInfo) -> str:
        family = info.data.get("family")
        if family is not None and network not in registry.known_networks(family):
            known = ", ".join(sorted(registry.known_networks(family)))
            raise ValueError(f"unknown {family} network {network!r} (known: {known})")
        return network

    @model_validator(mode="after")
    def _ordered_tiers(self) -> "CurrencyPolicy":
        bounds = [t.up_to for t in self.approvals]
        if any(b is None for b in bounds[:-1]):
            raise ValueError("only the last approval tier may leave out up_to")
        finite = [b for b in bounds if b is not None]
        if finite != sorted(finite) or len(set(finite)) != len(finite):
            raise ValueError("approval tiers must be in increasing order of up_to")
        return self

    @field_validator("allowlist")
    @classmethod
    def _normalized(cls, addresses: frozenset[str] | None, info: ValidationInfo) -> Any:
        family, network = info.data.get("family"), info.data.get("network")
        if addresses is None or family is None or network is None:
            return addresses
        out = set()
        for address in addresses:
            try:
                out.add(registry.validate_address(family, network, address))
            except AddressError as e:
                raise ValueError(f"allowlist address {address!r}: {e}") from e
        return frozenset(out)

    def tier_for(self, amount: int) -> ApprovalTier | None:
        """The approval tier an amount falls in; None above the last bounded tier."""
        for tier in self.approvals:
            if tier.up_to is None or amount <= tier.up_to:
                return tier
        return None


class Policy(BaseModel):
    """The whole policy: the exchange's intent key and one section per currency."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    exchange_key: str = Field(pattern=HEX_ED25519_KEY)
    currencies: dict[str, CurrencyPolicy] = Field(min_length=1)

    @model_validator(mode="before")
    @classmethod
    def _codes(cls, data: Any) -> Any:
        # Each section knows its own code: [currencies.LTC] is the policy of "LTC".
        if isinstance(data, dict) and isinstance(data.get("currencies"), dict):
            sections = data["currencies"].items()
            data = {
                **data,
                "currencies": {
                    code: {**section, "code": code} if isinstance(section, dict) else section
                    for code, section in sections
                },
            }
        return data

    @model_validator(mode="after")
    def _ethereum_accounts(self) -> "Policy":
        # Two currencies on one account would share addresses and nonces: one could sweep
        # or spend what the other counts as its own.
        seen: dict[tuple[str, int], str] = {}
        for code, c in self.currencies.items():
            if c.family is ChainFamily.ETHEREUM:
                other = seen.setdefault((c.network, c.account), code)
                if other != code:
                    raise ValueError(f"{other} and {code} use the same ethereum account")
        return self

    def currency(self, code: str) -> CurrencyPolicy | None:
        """The section for currency `code`, if the signer signs it."""
        return self.currencies.get(code)


def load_policy(path: Path) -> Policy:
    """Read and validate the policy file; one PolicyError line naming the bad field."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PolicyError(f"no policy file at {path}") from None
    except OSError as e:
        raise PolicyError(f"cannot read policy {path}: {e.strerror}") from e
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise PolicyError(f"policy {path} is not valid TOML: {e}") from e
    try:
        return Policy.model_validate(data)
    except ValidationError as e:
        first = e.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise PolicyError(f"policy {path}: {where}: {first['msg']}") from None
