"""Backup and restore of a SQLite database from Python (the core's, as the CLI's)."""

from pathlib import Path

import pytest

import versioner


def test_backup_and_restore_round_trip(tmp_path: Path) -> None:
    live = versioner.Versioner(tmp_path / "live.db")
    live.track_build(product_name="api", version="1.2.0", status="success")
    live.backup(tmp_path / "backup.db")
    with pytest.raises(versioner.InvalidInputError, match="already exists") as e:
        live.backup(str(tmp_path / "backup.db"))
    assert e.value.code == "INVALID_INPUT"

    fresh = versioner.Versioner(tmp_path / "fresh.db")
    fresh.restore(tmp_path / "backup.db")
    assert [p.name for p in fresh.products()] == ["api"]

    other = versioner.Versioner(tmp_path / "other.db")
    other.track_build(product_name="web", version="9", status="success")
    seq = other.last_event_seq()
    with pytest.raises(versioner.InvalidInputError, match="force"):
        other.restore(tmp_path / "backup.db")
    assert other.last_event_seq() == seq
    other.restore(tmp_path / "backup.db", force=True)
    assert [p.name for p in other.products()] == ["api"]

    (tmp_path / "notes.txt").write_text("hello" * 1000)
    with pytest.raises(versioner.InvalidInputError, match="not a readable SQLite database"):
        versioner.Versioner(tmp_path / "new.db").restore(tmp_path / "notes.txt")
