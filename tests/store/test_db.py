"""The state store: opening, migrations, transactions, and the stage log behind `ouhub status`."""

from __future__ import annotations

import sqlite3

import pytest

from ouhub.errors import StoreError
from ouhub.records import StageSummary
from ouhub.store import MIGRATIONS, Store, utcnow


def test_new_store_has_every_migration(tmp_path):
    with Store.open(tmp_path / "s.sqlite") as store:
        assert store.applied_migrations() == sorted(name for name, _ in MIGRATIONS)
        assert store.schema_version == len(MIGRATIONS)


def test_store_written_by_schema_v1_is_migrated_and_keeps_its_data(tmp_path):
    path = tmp_path / "old.sqlite"
    with Store.open(path, migrations=MIGRATIONS[:1]) as old:
        assert old.schema_version == 1
        old.record_stage("sync", "2026-01-01T00:00:00+00:00", StageSummary(True, {"branches": 3}))
    with Store.open(path) as store:
        assert store.schema_version == len(MIGRATIONS)
        event = store.last_stage_events()["sync"]
        assert event.ok and event.summary == {"branches": 3}


def test_failed_migration_rolls_back_and_stays_pending(tmp_path):
    path = tmp_path / "s.sqlite"
    broken = MIGRATIONS[:1] + [("9999_broken", "CREATE TABLE half (x INT);\nCREATE TABLE oops (;")]
    with pytest.raises(StoreError, match="9999_broken failed"):
        Store.open(path, migrations=broken)
    conn = sqlite3.connect(path)
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert "half" not in tables
    assert "9999_broken" not in {r[0] for r in conn.execute("SELECT name FROM schema_migrations")}
    conn.close()
    fixed = MIGRATIONS[:1] + [("9999_broken", "CREATE TABLE half (x INT);")]
    with Store.open(path, migrations=fixed) as store:
        assert "9999_broken" in store.applied_migrations()
    with Store.open(path, migrations=fixed) as store:  # a rerun applies nothing twice
        assert store.migrate(fixed) == []


def test_exception_inside_a_transaction_leaves_the_store_as_before(tmp_path):
    with Store.open(tmp_path / "s.sqlite") as store:
        store.record_stage("coverage", utcnow(), StageSummary(True, {"modules": 1}))
        with pytest.raises(RuntimeError), store.transaction():
            store.record_stage("coverage", utcnow(), StageSummary(False, {"modules": 2}))
            store.record_stage("sync", utcnow(), StageSummary(True))
            raise RuntimeError("stage crashed half way")
        events = store.last_stage_events()
        assert set(events) == {"coverage"}
        assert events["coverage"].summary == {"modules": 1}


def test_unwritable_location_is_a_clear_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(StoreError, match="cannot use the state store"):
        Store.open(blocker / "sub" / "s.sqlite")
