"""The `[currencies.node]` table of an Ethereum currency: the node, fee caps, gas, scan sizes.

Amounts are integers: wei for fees and gas prices, the currency's base units for `sweep_min`.
The caps here are the watcher's; the signer has its own (max_fee_rate, max_fee, max_gas) and
refuses anything above them, so these should sit at or below the signer's.
"""

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

from custody.watcher.errors import SettingsError
from custody.watcher.settings import WatchedCurrency

GWEI = 10**9


class EthereumNodeConfig(BaseModel):
    """How to reach an Ethereum node (geth, erigon, reth: standard eth_* JSON-RPC only)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    url: str = Field(pattern=r"^https?://")
    # HTTP basic auth, for a node behind an authenticating proxy; most nodes need none.
    user: str | None = None
    password: SecretStr | None = None
    password_file: Path | None = None
    rpc_timeout: float = Field(default=30.0, gt=0, le=3600)
    rpc_retries: int = Field(default=3, ge=1, le=20)
    rpc_backoff: float = Field(default=0.5, ge=0, le=60)

    # First start only (no cursor yet): scan from this block; without it, from the head.
    start_block: int | None = Field(default=None, ge=0)
    scan_batch: int = Field(default=50, ge=1, le=1000)
    max_blocks_per_round: int = Field(default=2000, ge=1)
    # Block hashes kept in the cursor: the deepest reorg the watcher follows by itself.
    reorg_window: int = Field(default=128, ge=2, le=1000)

    # EIP-1559 fees from eth_feeHistory, bounded: max fee = 2 x next base fee + tip.
    fee_history_blocks: int = Field(default=20, ge=1, le=1024)
    fee_percentile: int = Field(default=50, ge=0, le=100)
    min_priority_fee: int = Field(default=GWEI, ge=0)
    max_priority_fee: int = Field(default=5 * GWEI, ge=0)
    max_fee_per_gas: int = Field(default=200 * GWEI, ge=1)

    # Gas limits: a transfer to an address without code, the cap of an estimate for one
    # with code (a contract wallet), and a token transfer.
    gas_limit: int = Field(default=21_000, ge=21_000)
    max_gas_limit: int = Field(default=100_000, ge=21_000)
    token_gas_limit: int = Field(default=100_000, ge=21_000)

    # A transaction pending this long while the market asks more is replaced (same nonce),
    # each fee raised by at least bump_percent (nodes want 10%).
    replace_after: float = Field(default=300.0, ge=0)
    bump_percent: int = Field(default=15, ge=10, le=1000)
    # Balances below this (after gas, for ETH) are left in the deposit address.
    sweep_min: int = Field(default=0, ge=0)
    # A top-up that failed is tried again after this long, never waited for.
    topup_retry_after: float = Field(default=600.0, ge=0)
    templates_per_round: int = Field(default=50, ge=1, le=500)

    @model_validator(mode="after")
    def _consistent(self) -> "EthereumNodeConfig":
        if self.min_priority_fee > self.max_priority_fee:
            raise ValueError("min_priority_fee is above max_priority_fee")
        if self.max_priority_fee > self.max_fee_per_gas:
            raise ValueError("max_priority_fee is above max_fee_per_gas")
        if self.gas_limit > self.max_gas_limit:
            raise ValueError("gas_limit is above max_gas_limit")
        if self.user is not None and (self.password is None) == (self.password_file is None):
            raise ValueError("with user, set exactly one of password and password_file")
        if self.user is None and (self.password is not None or self.password_file is not None):
            raise ValueError("a password needs a user")
        return self

    def credentials(self) -> tuple[str, str] | None:
        """(user, password) for HTTP basic auth, read now; None without a user."""
        if self.user is None:
            return None
        if self.password is not None:
            return self.user, self.password.get_secret_value()
        assert self.password_file is not None
        try:
            text = self.password_file.read_text(encoding="utf-8").strip()
        except OSError as e:
            raise SettingsError(f"cannot read {self.password_file}: {e.strerror}") from e
        return self.user, text


class EthereumWatched(WatchedCurrency):
    """An Ethereum currency with its node table (ETH itself, or one ERC-20 token)."""

    node: EthereumNodeConfig  # type: ignore[assignment]  # another family's node table
