"""The signing journal: an append-only, fsynced JSON-lines record of every transaction signed."""

import fcntl
import json
import logging
import os
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any

from custody.signer.errors import JournalError

log = logging.getLogger(__name__)

VERSION = 1


@dataclass(frozen=True)
class JournalEntry:
    """One signed transaction: what it spends and which withdrawals (id, amount) it pays."""

    template_id: str
    currency: str
    txid: str
    spends: frozenset[str]
    withdrawals: tuple[tuple[str, int], ...]
    payload_sha256: str
    signed_at: datetime

    def to_line(self) -> bytes:
        """The record as one JSON line; amounts as strings like everywhere else."""
        record = {
            "v": VERSION,
            "template_id": self.template_id,
            "currency": self.currency,
            "txid": self.txid,
            "spends": sorted(self.spends),
            "withdrawals": [{"id": wid, "amount": str(amount)} for wid, amount in self.withdrawals],
            "payload_sha256": self.payload_sha256,
            "signed_at": self.signed_at.isoformat(),
        }
        return json.dumps(record, sort_keys=True, separators=(",", ":")).encode("utf-8") + b"\n"

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> "JournalEntry":
        """Parse one record; KeyError/ValueError/TypeError on anything malformed."""
        if record["v"] != VERSION:
            raise ValueError(f"unknown journal record version {record['v']!r}")
        signed_at = datetime.fromisoformat(record["signed_at"])
        if signed_at.tzinfo is None:
            raise ValueError("signed_at has no timezone")
        return cls(
            template_id=str(record["template_id"]),
            currency=str(record["currency"]),
            txid=str(record["txid"]),
            spends=frozenset(str(s) for s in record["spends"]),
            withdrawals=tuple((str(w["id"]), int(w["amount"])) for w in record["withdrawals"]),
            payload_sha256=str(record["payload_sha256"]),
            signed_at=signed_at,
        )


class Journal:
    """The journal file, locked for this process: two signers never share one journal."""

    def __init__(self, path: Path):
        self.path = path
        self._entries: list[JournalEntry] = []
        self._by_withdrawal: dict[str, list[JournalEntry]] = defaultdict(list)
        self._by_txid: dict[str, JournalEntry] = {}
        self._by_spend: dict[str, list[JournalEntry]] = defaultdict(list)
        self._fd = self._open(path)
        self._failed = False
        try:
            self._load()
        except BaseException:
            os.close(self._fd)
            raise

    @staticmethod
    def _open(path: Path) -> int:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            created = not path.exists()
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
        except OSError as e:
            raise JournalError(f"cannot open journal {path}: {e.strerror}") from e
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise JournalError(f"journal {path} is in use by another signer process") from None
        if created:
            _fsync_dir(path.parent)
        return fd

    def _load(self) -> None:
        """Read every record; cut off a torn (unfinished) last line."""
        with open(self._fd, "rb", closefd=False) as f:
            data = f.read()
        lines = data.split(b"\n")
        tail = lines.pop()  # b"" when the file ends with a newline
        for number, line in enumerate(lines, start=1):
            self._index(self._parse(line, number))
        if tail:
            # A crash mid-append leaves a line without its newline. Its signature never left
            # the signer (we answer only after fsync), so the fragment is no record: drop it
            # rather than let the next append glue a damaged line into the middle.
            log.warning("journal %s ends in an unfinished record; removing it", self.path)
            try:
                os.ftruncate(self._fd, len(data) - len(tail))
                os.fsync(self._fd)
            except OSError as e:
                raise JournalError(f"cannot repair journal {self.path}: {e.strerror}") from e

    def _parse(self, line: bytes, number: int) -> JournalEntry:
        try:
            return JournalEntry.from_record(json.loads(line))
        except (ValueError, KeyError, TypeError) as e:
            raise JournalError(f"journal {self.path} line {number} is damaged: {e}") from e

    def _index(self, entry: JournalEntry) -> None:
        self._entries.append(entry)
        self._by_txid[entry.txid] = entry
        for wid, _ in entry.withdrawals:
            self._by_withdrawal[wid].append(entry)
        for spend in entry.spends:
            self._by_spend[spend].append(entry)

    def close(self) -> None:
        """Release the lock and the file."""
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def __enter__(self) -> "Journal":
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __len__(self) -> int:
        return len(self._entries)

    def for_withdrawal(self, withdrawal_id: str) -> list[JournalEntry]:
        """Every transaction signed so far that pays this withdrawal, oldest first."""
        return list(self._by_withdrawal.get(withdrawal_id, ()))

    def by_txid(self, txid: str) -> JournalEntry | None:
        """The entry of a transaction signed before, if any."""
        return self._by_txid.get(txid)

    def by_spend(self, spend: str) -> list[JournalEntry]:
        """Every transaction signed so far that spends `spend` (an outpoint, an account nonce)."""
        return list(self._by_spend.get(spend, ()))

    def volume_since(self, currency: str, since: datetime) -> int:
        """Base units of distinct withdrawals of `currency` signed at or after `since`."""
        amounts: dict[str, int] = {}
        for entry in reversed(self._entries):
            if entry.signed_at < since:
                continue
            if entry.currency == currency:
                # A replacement pays the same withdrawal again: count each one once.
                amounts.update(entry.withdrawals)
        return sum(amounts.values())

    def append(self, entry: JournalEntry) -> None:
        """Write one record and fsync it before anyone sees the signature it records."""
        if self._fd < 0 or self._failed:
            raise JournalError(f"journal {self.path} is closed or failed; restart the signer")
        data = entry.to_line()
        try:
            written = os.write(self._fd, data)
            if written != len(data):
                raise OSError(0, f"short write ({written} of {len(data)} bytes)")
            os.fsync(self._fd)
        except OSError as e:
            # Part of the line may have landed; the next start cuts it off (see _load).
            self._failed = True
            raise JournalError(f"cannot write journal {self.path}: {e.strerror}") from e
        self._index(entry)


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
