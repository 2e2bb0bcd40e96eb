"""The watcher's settings (CUSTODY_WATCHER_* variables) and the node tables of the config file."""

import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from custody.contract.currencies import ChainFamily
from custody.watcher.errors import SettingsError


class NodeConfig(BaseModel):
    """How to reach one currency's full node and how to build its transactions.

    Fee rates are integer base units per virtual byte (sat/vB, litoshi/vB).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    url: str = Field(pattern=r"^https?://")
    user: str | None = None
    password: SecretStr | None = None
    password_file: Path | None = None
    # Bitcoin/Litecoin Core's `.cookie` file: re-read whenever the node answers 401.
    cookie_file: Path | None = None
    wallet: str = Field(default="custody-watch", pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    fee_floor: int = Field(default=1, ge=1)
    fee_cap: int = Field(default=100, ge=1)
    # Used when estimatesmartfee has no estimate yet (a fresh regtest chain); floor if unset.
    fallback_fee: int | None = Field(default=None, ge=1)
    conf_target: int = Field(default=6, ge=1, le=1008)
    batch_size: int = Field(default=50, ge=1, le=500)
    import_batch: int = Field(default=1000, ge=1, le=10_000)
    rpc_timeout: float = Field(default=30.0, gt=0, le=3600)
    rpc_retries: int = Field(default=3, ge=1, le=20)
    rpc_backoff: float = Field(default=0.5, ge=0, le=60)
    # First start only (no cursor yet): rescan the chain from this height after importing.
    birth_height: int | None = Field(default=None, ge=0)
    # If the node no longer knows the cursor block (reindexed), scan again from this far below.
    reorg_window: int = Field(default=100, ge=1, le=100_000)

    @model_validator(mode="after")
    def _consistent(self) -> "NodeConfig":
        if self.fee_floor > self.fee_cap:
            raise ValueError(f"fee_floor {self.fee_floor} is above fee_cap {self.fee_cap}")
        if (
            self.fallback_fee is not None
            and not self.fee_floor <= self.fallback_fee <= self.fee_cap
        ):
            raise ValueError("fallback_fee must lie between fee_floor and fee_cap")
        if self.cookie_file is None and self.user is None:
            raise ValueError("set either cookie_file or user with password/password_file")
        if self.user is not None and (self.password is None) == (self.password_file is None):
            raise ValueError("with user, set exactly one of password and password_file")
        return self

    def credentials(self) -> tuple[str, str]:
        """(user, password) for HTTP basic auth, read now (a cookie changes on node restart)."""
        if self.cookie_file is not None:
            text = _read(self.cookie_file, "cookie file")
            user, sep, password = text.partition(":")
            if not sep:
                raise SettingsError(f"cookie file {self.cookie_file} is not user:password")
            return user, password
        assert self.user is not None
        if self.password is not None:
            return self.user, self.password.get_secret_value()
        assert self.password_file is not None
        return self.user, _read(self.password_file, "password file")


class WatchedCurrency(BaseModel):
    """A currency of the shared config file that has a `[currencies.node]` table."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    code: str = Field(pattern=r"^[A-Z0-9]{2,12}$")
    family: ChainFamily
    network: str
    node: NodeConfig


class WatcherSettings(BaseSettings):
    """Everything the watcher process needs; validated at start and passed explicitly."""

    model_config = SettingsConfigDict(env_prefix="CUSTODY_WATCHER_", extra="ignore")

    coordinator_url: str = "http://127.0.0.1:8700"
    token: SecretStr | None = None
    token_file: Path | None = None
    config_file: Path = Path("custody.toml")
    poll_interval: float = Field(default=10.0, gt=0, le=3600)
    # A round that found the node or coordinator down waits longer, doubling up to this.
    max_backoff: float = Field(default=300.0, gt=0, le=86_400)
    http_timeout: float = Field(default=30.0, gt=0, le=600)
    log_level: str = Field(default="INFO", pattern=r"^(DEBUG|INFO|WARNING|ERROR)$")

    def api_token(self) -> str:
        """The watcher role's bearer token, from CUSTODY_WATCHER_TOKEN or the token file."""
        if self.token is not None:
            return self.token.get_secret_value()
        if self.token_file is None:
            raise SettingsError("no coordinator token: set CUSTODY_WATCHER_TOKEN or _TOKEN_FILE")
        return _read(self.token_file, "token file")


def _read(path: Path, what: str) -> str:
    try:
        text = path.read_text(encoding="utf-8").strip()
    except OSError as e:
        raise SettingsError(f"cannot read {what} {path}: {e.strerror}") from e
    if not text:
        raise SettingsError(f"{what} {path} is empty")
    return text


def load_settings(**overrides: Any) -> WatcherSettings:
    """Settings from the environment with explicit overrides; one readable line on error."""
    try:
        return WatcherSettings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as e:
        first = e.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "settings"
        raise SettingsError(f"invalid watcher setting {where}: {first['msg']}") from None


def load_watched(
    path: Path, models: Mapping[ChainFamily, type[WatchedCurrency]] | None = None
) -> list[WatchedCurrency]:
    """The currencies of the config file that name a node; the coordinator ignores those tables."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SettingsError(f"config file not found: {path}") from None
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise SettingsError(f"cannot read config {path}: {e}") from e
    return parse_watched(raw, models)


def parse_watched(
    raw: dict[str, Any], models: Mapping[ChainFamily, type[WatchedCurrency]] | None = None
) -> list[WatchedCurrency]:
    """Validate the `[[currencies]]` entries that carry a `node` table, each with its family's
    model (`models`, from the watcher registry; the Bitcoin family's alone by default)."""
    known = models if models is not None else {ChainFamily.BITCOIN: WatchedCurrency}
    watched = []
    for entry in raw.get("currencies", []):
        if not isinstance(entry, dict) or "node" not in entry:
            continue
        code = entry.get("code", "?")
        family = entry.get("family")
        model = next((m for f, m in known.items() if f.value == family), None)
        if model is None:
            raise SettingsError(f"currency {code}: the watcher cannot watch family {family!r}")
        try:
            watched.append(model.model_validate(entry))
        except ValidationError as e:
            first = e.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise SettingsError(f"currency {code}: {where}: {first['msg']}") from e
    codes = [c.code for c in watched]
    if len(set(codes)) != len(codes):
        raise SettingsError("a currency is listed twice in the config file")
    return watched
