"""Failures across nights, end to end: real bzr commits, sync, runs of the stand-in server on a
real sample; the fingerprints, the classes and a regression's suspect commits in the store."""

from __future__ import annotations

from pathlib import Path

import pytest

from examples.demo.vcs import commit_files, init_branch
from ouhub.runner.failures import classify
from ouhub.runner.samples import import_samples
from ouhub.runner.stage import run_one
from ouhub.sync.stage import run_sync
from ouhub.vocab import FIXED, NEW, REGRESSION
from tests.runner.conftest import OK_SCRIPT, STANDIN_COMMAND, build_config, module_files

SALE = "openerp/addons/sale/"
BROKEN = "def migrate(cr, version):\n    raise ValueError('sale cannot map partner %d' % 42)\n"
BROKEN_OTHERWISE = "def migrate(cr, version):\n    cr.execute('SELECT no_such_column FROM res_partner')\n"


@pytest.mark.slow
def test_nights_of_one_sample(tmp_path: Path, pg_server: str, dump_61: Path, runner_store):
    config = build_config(tmp_path, pg_server, samples=[
        {"name": "s61", "release": "6.1", "dump": str(dump_61)}],
        commands={"7.0": STANDIN_COMMAND})
    tree = init_branch(tmp_path / "b70")
    commit_files(tree, module_files(OK_SCRIPT), "7.0 with sale's script", timestamp=1_700_000_000)
    store = runner_store(config)
    assert [r.status for r in import_samples(config, store)] == ["imported"]

    def night(files: dict[str, str] | None = None, message: str = "", author: str = "") -> str:
        if files:
            commit_files(tree, files, message, author=author)
        assert all(r.ok for r in run_sync(config, store, ["7.0"], quiet=True))
        result = run_one(config, store, "7.0", "s61")
        return {m.module: m.outcome for m in result.modules}["sale"]

    assert night() == "upgraded"
    assert night({SALE + "migrations/7.0.1.0/post-migration.py": BROKEN},
                 "[FIX] sale: map partners\n\nwith a loop", "Bob <bob@example.org>") == "failed"
    # a commit that touches another module only is no suspect
    commit_files(tree, {"openerp/addons/stock/README": "stock"}, "stock: readme")
    assert night() == "failed"
    histories = store.module_histories("7.0")
    sale = histories[("7.0", "s61", "sale")]
    first, second, third = sale
    assert (first.outcome, second.outcome, third.outcome) == ("upgraded", "failed", "failed")
    assert first.fingerprint is None
    # the same failure in two runs: one fingerprint, stored with each outcome
    assert second.fingerprint == third.fingerprint
    (fingerprint,) = store.fingerprints([second.fingerprint]).values()
    assert (fingerprint.module, fingerprint.stage, fingerprint.exception) == (
        "sale", "post", "ValueError")
    assert fingerprint.message == "sale cannot map partner N"
    assert store.run_modules(second.run_id)[1].fingerprint == fingerprint

    found = classify("7.0", "s61", "sale", sale)
    assert found.failure_class == REGRESSION
    assert (found.last_passed.run_id, found.broke_at.run_id) == (first.run_id, second.run_id)
    (suspects,) = store.suspect_ranges("7.0")
    assert (suspects.module, suspects.run_id, suspects.since_run_id, suspects.branch) == (
        "sale", second.run_id, first.run_id, "server")
    (commit,) = suspects.commits
    assert (commit.revision, commit.author, commit.summary) == (
        "2", "Bob <bob@example.org>", "[FIX] sale: map partners")
    assert suspects.total == 1 and suspects.error is None
    assert suspects.folder == "openerp/addons/sale"

    # failing another way: another fingerprint; then the fix
    assert night({SALE + "migrations/7.0.1.0/post-migration.py": BROKEN_OTHERWISE},
                 "sale: read the column", "Cy <cy@example.org>") == "failed"
    fourth = store.module_history("7.0", "s61", "sale")[-1]
    assert fourth.fingerprint not in (None, second.fingerprint)
    assert store.fingerprints([fourth.fingerprint])[fourth.fingerprint].exception == \
        "UndefinedColumn"
    assert night({SALE + "migrations/7.0.1.0/post-migration.py": OK_SCRIPT},
                 "sale: revert", "Bob <bob@example.org>") == "upgraded"
    final = classify("7.0", "s61", "sale", store.module_history("7.0", "s61", "sale"))
    assert final.failure_class == FIXED and final.fixed_at.run_id == fourth.run_id + 1
    assert store.fingerprint_sightings(second.fingerprint) == [("7.0", "s61", "sale")]
    # one reading per regression: the later failures did not read the mirror again
    assert len(store.suspect_ranges("7.0")) == 1


def test_a_first_failure_is_new_and_has_no_suspects(tmp_path: Path, pg_server: str,
                                                    dump_61: Path, runner_store):
    config = build_config(tmp_path, pg_server, samples=[
        {"name": "s61", "release": "6.1", "dump": str(dump_61)}],
        commands={"7.0": STANDIN_COMMAND})
    tree = init_branch(tmp_path / "b70")
    commit_files(tree, module_files(BROKEN), "7.0")
    store = runner_store(config)
    import_samples(config, store)
    run_sync(config, store, ["7.0"], quiet=True)
    run_one(config, store, "7.0", "s61")
    history = store.module_history("7.0", "s61", "sale")
    assert classify("7.0", "s61", "sale", history).failure_class == NEW
    assert store.suspect_ranges() == []
