"""The signer's typed settings, read from CUSTODY_SIGNER_* environment variables."""

from pathlib import Path

from pydantic import Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from custody.signer.errors import SettingsError


class SignerSettings(BaseSettings):
    """Everything the signer process needs, validated at start and passed explicitly."""

    model_config = SettingsConfigDict(env_prefix="CUSTODY_SIGNER_", extra="ignore")

    keystore: Path = Path("signer/keystore.json")
    policy: Path = Path("signer/policy.toml")
    journal: Path = Path("signer/journal.jsonl")
    # A file holding the keystore passphrase (CUSTODY_SIGNER_PASSPHRASE_FILE); else a prompt.
    passphrase_file: Path | None = None

    coordinator_url: str = "http://127.0.0.1:8000"
    token: SecretStr | None = None
    token_file: Path | None = None
    http_timeout: float = Field(default=10.0, gt=0, le=300)

    poll_interval: float = Field(default=5.0, gt=0, le=3600)
    template_batch: int = Field(default=20, ge=1, le=500)
    # Unused addresses kept in the coordinator's pool per currency; change defaults to the same.
    pool_target: int = Field(default=20, ge=0, le=10_000)
    change_pool_target: int | None = Field(default=None, ge=0, le=10_000)

    log_level: str = Field(default="INFO", pattern=r"^(DEBUG|INFO|WARNING|ERROR)$")

    def change_target(self) -> int:
        """Unused change addresses to keep in the pool."""
        return self.pool_target if self.change_pool_target is None else self.change_pool_target

    def api_token(self) -> str:
        """The bearer token for the coordinator, from CUSTODY_SIGNER_TOKEN or the token file."""
        if self.token is not None:
            return self.token.get_secret_value()
        if self.token_file is None:
            raise SettingsError("no coordinator token: set CUSTODY_SIGNER_TOKEN or _TOKEN_FILE")
        try:
            token = self.token_file.read_text(encoding="utf-8").strip()
        except OSError as e:
            raise SettingsError(f"cannot read token file {self.token_file}: {e.strerror}") from e
        if not token:
            raise SettingsError(f"token file {self.token_file} is empty")
        return token


def load_settings(**overrides: object) -> SignerSettings:
    """Settings from the environment with explicit overrides; one readable line on error."""
    try:
        return SignerSettings(**{k: v for k, v in overrides.items() if v is not None})  # type: ignore[arg-type]
    except ValidationError as e:
        first = e.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "settings"
        raise SettingsError(f"invalid signer setting {where}: {first['msg']}") from None
