"""Per-currency scan positions that the watcher keeps in the coordinator."""

from datetime import datetime

from pydantic import BaseModel, Field


class CursorUpdate(BaseModel):
    """An opaque scan position (block hash, height, or a family-specific JSON string)."""

    cursor: str = Field(max_length=100_000)


class ChainCursor(BaseModel):
    """The stored scan position of one currency."""

    currency: str
    cursor: str
    updated_at: datetime
