"""The coordinator's settings, from CUSTODY_* environment variables, validated at start."""

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class CoordinatorSettings(BaseSettings):
    """Everything the coordinator process needs to start; passed explicitly, never global."""

    model_config = SettingsConfigDict(env_prefix="CUSTODY_", extra="ignore")

    database_url: str = "sqlite:///var/custody.sqlite3"
    config_file: Path = Path("custody.toml")
    host: str = "127.0.0.1"
    port: int = Field(default=8700, ge=1, le=65535)
    max_body_bytes: int = Field(default=1_048_576, ge=1024)
    migrate_on_start: bool = True
