"""Journal file: append-only JSON lines, fsynced before use, locked, torn tails tolerated."""

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from custody.signer import journal as journal_module
from custody.signer.errors import JournalError
from custody.signer.journal import Journal, JournalEntry

T0 = datetime(2024, 6, 1, tzinfo=UTC)


def entry(txid: str, *withdrawals: tuple[str, int], at: datetime = T0, currency: str = "LTC",
          spends: tuple[str, ...] = ("aa:0",)) -> JournalEntry:
    return JournalEntry(
        template_id=f"t-{txid}", currency=currency, txid=txid, spends=frozenset(spends),
        withdrawals=tuple(withdrawals), payload_sha256="00" * 32, signed_at=at,
    )


def test_entries_survive_a_reopen(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    with Journal(path) as j:
        j.append(entry("t1", ("w1", 5), ("w2", 7)))
        j.append(entry("t2", ("w1", 5), spends=("aa:0", "bb:1")))
    with Journal(path) as j:
        assert len(j) == 2
        assert [e.txid for e in j.for_withdrawal("w1")] == ["t1", "t2"]
        assert j.by_txid("t2") == entry("t2", ("w1", 5), spends=("aa:0", "bb:1"))
        assert j.for_withdrawal("nobody") == [] and j.by_txid("nothing") is None


def test_every_append_is_fsynced(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    synced: list[int] = []
    real = os.fsync
    monkeypatch.setattr(journal_module.os, "fsync", lambda fd: (synced.append(fd), real(fd)))
    with Journal(tmp_path / "j.jsonl") as j:
        before = len(synced)
        j.append(entry("t1", ("w1", 5)))
        assert len(synced) == before + 1


def test_file_is_private(tmp_path: Path) -> None:
    with Journal(tmp_path / "j.jsonl"):
        pass
    assert (tmp_path / "j.jsonl").stat().st_mode & 0o077 == 0


def test_second_process_cannot_share_the_journal(tmp_path: Path) -> None:
    with Journal(tmp_path / "j.jsonl"):
        with pytest.raises(JournalError, match="in use by another signer"):
            Journal(tmp_path / "j.jsonl")
    Journal(tmp_path / "j.jsonl").close()  # free again once closed


def test_torn_last_line_is_ignored_and_the_next_record_starts_clean(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    with Journal(path) as j:
        j.append(entry("t1", ("w1", 5)))
    with path.open("ab") as f:
        f.write(b'{"v":1,"template_id":"t-t2","curr')  # a crash mid-append
    with Journal(path) as j:
        assert len(j) == 1
        j.append(entry("t3", ("w3", 1)))
    with Journal(path) as j:
        assert [e.txid for e in (j.by_txid("t1"), j.by_txid("t3")) if e] == ["t1", "t3"]


@pytest.mark.parametrize("damage", [b"not json\n", b'{"v": 2}\n', b'{"v": 1}\n', b"[]\n"])
def test_damaged_record_in_the_middle_stops_the_signer(tmp_path: Path, damage: bytes) -> None:
    path = tmp_path / "j.jsonl"
    with Journal(path) as j:
        j.append(entry("t1", ("w1", 5)))
    content = path.read_bytes()
    path.write_bytes(damage + content)
    with pytest.raises(JournalError, match="line 1 is damaged"):
        Journal(path)


def test_volume_counts_each_withdrawal_once_within_the_window(tmp_path: Path) -> None:
    with Journal(tmp_path / "j.jsonl") as j:
        j.append(entry("old", ("w0", 100), at=T0 - timedelta(hours=25)))
        j.append(entry("t1", ("w1", 5), ("w2", 7), at=T0))
        j.append(entry("t2", ("w1", 5), at=T0 + timedelta(hours=1)))  # a replacement
        j.append(entry("t3", ("w9", 50), at=T0, currency="BTC"))
        assert j.volume_since("LTC", T0 - timedelta(hours=24)) == 12
        assert j.volume_since("LTC", T0 + timedelta(minutes=30)) == 5
        assert j.volume_since("BTC", T0 - timedelta(hours=24)) == 50


def test_unwritable_location(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(JournalError, match="cannot open journal"):
        Journal(blocker / "j.jsonl")
