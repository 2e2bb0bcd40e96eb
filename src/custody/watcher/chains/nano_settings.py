"""The node table of a Nano currency: where the node (and a work server) are, and the rules."""

from pydantic import BaseModel, ConfigDict, Field, model_validator

from custody.chains import nano as chain
from custody.chains.errors import AddressError
from custody.contract.currencies import ChainFamily
from custody.watcher.errors import SettingsError
from custody.watcher.settings import WatchedCurrency


class NanoNodeConfig(BaseModel):
    """`[currencies.node]` of a nano currency. The node needs `enable_control` only if it
    generates the work itself (no `work_url`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    url: str = Field(pattern=r"^https?://")
    # A work server speaking `work_generate` (nano-work-server, or another node); default: url.
    work_url: str | None = Field(default=None, pattern=r"^https?://")
    # Every receive and open block names it; the signer's policy must name the same one.
    representative: str
    # Deposit accounts per accounts_receivable call, and sends listed per account.
    receivable_batch: int = Field(default=500, ge=1, le=5000)
    receivable_count: int = Field(default=100, ge=1, le=10_000)
    # Receive/open/sweep templates built per round (one per account at a time).
    pocket_per_round: int = Field(default=200, ge=1, le=10_000)
    rpc_timeout: float = Field(default=30.0, gt=0, le=3600)
    work_timeout: float = Field(default=300.0, gt=0, le=3600)
    rpc_retries: int = Field(default=3, ge=1, le=20)
    rpc_backoff: float = Field(default=0.5, ge=0, le=60)


class NanoWatched(WatchedCurrency):
    """A nano currency of the config file with its node table."""

    node: NanoNodeConfig  # type: ignore[assignment]  # another family's node table

    @model_validator(mode="after")
    def _valid_for_network(self) -> "NanoWatched":
        if self.family is not ChainFamily.NANO:
            raise ValueError(f"a nano node table on a {self.family} currency")
        try:
            normalized = chain.validate_address(self.network, self.node.representative)
        except AddressError as e:
            raise ValueError(f"node.representative: {e}") from e
        if normalized != self.node.representative:
            raise ValueError(f"node.representative: write it as {normalized}")
        return self


def node_config(watched: WatchedCurrency) -> NanoNodeConfig:
    """The Nano node table of a watched currency."""
    if not isinstance(watched, NanoWatched):
        raise SettingsError(f"{watched.code}: not configured with a nano node table")
    return watched.node
