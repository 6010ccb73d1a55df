"""A worker's side of a run, without the broker: its host brought to the task's state.

The worker here has its own data dir: no mirror, no template. The task names the
7.0 branch's revision and the dump's checksum, as a coordinator would.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ouhub.runner.host import bring_mirrors, run_task, worker_run_dir
from ouhub.runner.pg import database_exists
from ouhub.runner.samples import checksum, import_samples
from ouhub.runner.spare import wait_for_spares
from ouhub.runner.stage import run_one
from ouhub.runner.task import RunTask
from ouhub.runner.worker import perform
from ouhub.sync.stage import store_outcome, sync_branch
from tests.runner.conftest import OK_SCRIPT, STANDIN_COMMAND, build_config, module_files
from tests.support.gitrepos import commit, git_repo


@pytest.fixture
def worker_host(tmp_path, pg_server, dump_61, bzr_branch, runner_store):
    """A worker's config and store on a fresh data dir, the 7.0 branch made by ``commits``."""

    def make(*commits: dict[str, str], log_limit: int = 1_000_000):
        path, revids = bzr_branch("b70", list(commits))
        config = build_config(tmp_path, pg_server, samples=[
            {"name": "s61", "release": "6.1", "dump": str(dump_61)}],
            commands={"7.0": STANDIN_COMMAND}, url_70=str(path), log_limit=log_limit)
        return config, runner_store(config), [r.decode() for r in revids]

    return make


def task_for(revid: str, dump: Path, run_id: int = 41, sha: str | None = None) -> RunTask:
    return RunTask(run_id=run_id, release="7.0", previous="6.1", sample="s61",
                   checksum=sha or checksum(dump), revisions={"server": revid}, timeout=60)


def test_a_bare_worker_fetches_the_revision_restores_the_template_and_runs(worker_host, dump_61):
    config, store, [revid] = worker_host(module_files())

    record = run_task(config, store, task_for(revid, dump_61), "ouhub-1@test")

    assert record.status == "passed", record.message
    assert (record.run_id, record.worker, record.losses) == (41, "ouhub-1@test", 0)
    assert {m.module: m.outcome for m in record.modules} == {
        "base": "upgraded", "sale": "upgraded", "stock": "upgraded"}
    assert record.revisions == {"server": f"1 ({revid})"}  # as `ouhub run` records it
    assert record.exit_code == 0 and record.command_seconds and record.duration > 0
    assert "module sale: Running migration" in record.log  # the upgrade log travels along
    assert (worker_run_dir(config, 41) / "upgrade.log").is_file()  # whole, on the worker
    template = store.sample_template("s61")
    assert template.checksum == checksum(dump_61) and database_exists(config.dsn, template.dbname)
    # the scratch database is gone; the template and its spare clone stay for the next runs
    wait_for_spares()
    assert sorted(d.kind for d in store.live_databases()) == ["spare", "template"]
    again = run_task(config, store, task_for(revid, dump_61, run_id=42), "ouhub-1@test")
    assert again.status == "passed" and store.sample_template("s61") == template


BROKEN_SCRIPT = "def migrate(cr, version):\n    raise ValueError('broken at the tip')\n"


def test_a_branch_moved_since_the_sync_runs_at_the_tasks_revision(worker_host, dump_61):
    # the tip breaks sale: a run at the tip would fail, the task's revision passes
    config, store, [first, second] = worker_host(module_files(), module_files(BROKEN_SCRIPT))

    record = run_task(config, store, task_for(first, dump_61), "w")

    assert record.status == "passed", record.message
    assert record.revisions == {"server": f"1 ({first})"}
    tree = config.mirror_path(config.release("7.0").branches[0])
    script = tree / "openerp/addons/sale/migrations/7.0.1.0/post-migration.py"
    assert script.read_text() == OK_SCRIPT  # the working tree holds the task's revision
    assert store.sync_state("7.0", "server").revid == second  # the fetch stored the tip
    # a sync brings the tree back to the branch's tip, although the branch did not move
    assert sync_branch(config, config.release("7.0").branches[0]).ok
    assert script.read_text() == BROKEN_SCRIPT

    at_tip = run_task(config, store, task_for(second, dump_61, run_id=42), "w")
    assert at_tip.status == "failed" and at_tip.revisions == {"server": f"2 ({second})"}
    assert script.read_text() == BROKEN_SCRIPT


def test_a_revision_the_remote_no_longer_has_is_an_error_record(worker_host, dump_61):
    config, store, [revid] = worker_host(module_files())
    gone = "nobody@example.com-20990101000000-gonegonegonegone"

    record = run_task(config, store, task_for(gone, dump_61), "w")

    assert record.status == "error" and record.modules == ()
    assert f"revision {gone} of branch 7.0/server is no longer on " in record.message
    assert store.sync_state("7.0", "server").revid == revid  # the fetch itself is kept


def test_another_dump_is_an_error_record(worker_host, dump_61):
    config, store, [revid] = worker_host(module_files())

    other = run_task(config, store, task_for(revid, dump_61, sha="0" * 64), "w")
    assert other.status == "error"
    assert "the dump changed since the coordinator read it" in other.message
    assert store.live_databases() == [] and store.sample_template("s61") is None


@pytest.fixture
def git_worker(tmp_path, pg_server, dump_61, runner_store):
    """A 7.0 git branch (base, then sale's good script) and a worker on a data dir of its own."""
    remote = tmp_path / "remotes" / "ou.git"
    files = module_files()
    base = {k: v for k, v in files.items() if "migrations" not in k}
    shas = git_repo(remote, {"7.0": [base, files]})["7.0"]

    def worker(name: str):
        config = build_config(tmp_path / name, pg_server, samples=[
            {"name": "s61", "release": "6.1", "dump": str(dump_61)}],
            commands={"7.0": STANDIN_COMMAND}, url_70=f"{remote},branch=7.0", vcs_70="git")
        return config, runner_store(config)

    return remote, shas, worker


def sale_script(config) -> Path:
    tree = config.mirror_path(config.release("7.0").branches[0])
    return tree / "openerp/addons/sale/migrations/7.0.1.0/post-migration.py"


@pytest.mark.parametrize("rewritten", [False, True], ids=["moved-on", "rewritten"])
def test_a_git_worktree_is_placed_at_the_tasks_revision(git_worker, dump_61, rewritten):
    remote, [base, good], worker = git_worker
    # the branch moved on past the good commit, or was rewritten: then no ref names the
    # good commit any more, which the remote still holds (it is fetched by its id)
    tip = commit(remote, "7.0", {
        "openerp/addons/sale/migrations/7.0.1.0/post-migration.py": BROKEN_SCRIPT},
        parent=base if rewritten else None)
    config, store = worker("w")

    record = run_task(config, store, task_for(good, dump_61), "w")

    assert record.status == "passed", record.message
    assert record.revisions == {"server": f"2 ({good})"}
    assert sale_script(config).read_text() == OK_SCRIPT
    assert store.sync_state("7.0", "server").revid == tip

    # a host already at the revision is left as it is: nothing fetched (the remote is away)
    away = remote.rename(remote.with_name("away.git"))
    again = run_task(config, store, task_for(good, dump_61, run_id=42), "w")
    assert again.status == "passed", again.message
    away.rename(remote)

    never = "0123456789" * 4
    gone = run_task(config, store, task_for(never, dump_61, run_id=43), "w")
    assert gone.status == "error" and gone.modules == ()
    assert f"revision {never} of branch 7.0/server is no longer on {remote}" in gone.message


@pytest.mark.parametrize("vcs", ["bzr", "git"])
def test_a_local_run_brings_the_tree_a_worker_left_behind_to_the_synced_revision(
        tmp_path, pg_server, dump_61, bzr_branch, runner_store, vcs):
    # the sync's tip breaks sale; a worker sharing this data dir ran a task at the first
    # revision and left the tree there
    commits = [module_files(), module_files(BROKEN_SCRIPT)]
    if vcs == "git":
        remote = tmp_path / "remotes" / "ou.git"
        first, tip = git_repo(remote, {"7.0": commits})["7.0"]
        url = f"{remote},branch=7.0"
    else:
        path, revids = bzr_branch("b70", commits)
        (first, tip), url = [r.decode() for r in revids], str(path)
    config = build_config(tmp_path / "host", pg_server, samples=[
        {"name": "s61", "release": "6.1", "dump": str(dump_61)}],
        commands={"7.0": STANDIN_COMMAND}, url_70=url, vcs_70=vcs)
    store = runner_store(config)
    store_outcome(store, sync_branch(config, config.release("7.0").branches[0]))
    assert store.sync_state("7.0", "server").revid == tip
    assert bring_mirrors(config, store, "7.0", {"server": first}) == {"server": f"1 ({first})"}
    assert sale_script(config).read_text() == OK_SCRIPT
    # a task naming no revision runs on the tree as it is, and records where it is
    assert bring_mirrors(config, store, "7.0", {}) == {"server": f"1 ({first})"}
    assert [r.status for r in import_samples(config, store)] == ["imported"]

    result = run_one(config, store, "7.0", "s61", local=True)  # `ouhub run`, as the nightly's

    # the run is of the synced tip, and says so: its broken script ran
    assert result.status == "failed", result.message
    assert "broken at the tip" in result.message
    assert store.run(result.run_id).revisions == {"server": f"2 ({tip})"}
    assert sale_script(config).read_text() == BROKEN_SCRIPT


def test_the_record_carries_the_logs_head_and_tail_within_the_limit(worker_host, dump_61):
    chatty = ("def migrate(cr, version):\n"
              "    for i in range(3000):\n"
              "        print('sale migration progress line', i, flush=True)\n")
    config, store, [revid] = worker_host(module_files(chatty), log_limit=10_000)

    record = run_task(config, store, task_for(revid, dump_61), "w")

    assert record.status == "passed", record.message
    kept = (worker_run_dir(config, 41) / "upgrade.log").read_text()
    # the worker keeps the log capped as well (its 3,000 lines are some 100 KB): the same
    assert len(record.log) <= 10_001 and record.log == kept
    assert record.log.startswith("# ouhub: upgrade 6.1 -> 7.0 of database ")
    assert "characters cut from the middle of this log" in record.log
    assert "sale migration progress line 2999" in record.log[-2000:]


@pytest.mark.parametrize("payload, expected", [
    ({"run_id": 5, "release": "7.0"}, "the worker refused the task: task: field "),
    ("rm -rf /", "the worker refused the task: task: expected a JSON object, got str"),
])
def test_a_malformed_task_is_answered_with_an_error_record(tmp_path, pg_server, payload,
                                                          expected):
    config = build_config(tmp_path, pg_server)
    answer = perform(config, None, payload, "w", 0)  # never reaches the store
    assert answer["status"] == "error" and answer["message"].startswith(expected)
    assert answer["run_id"] == (5 if isinstance(payload, dict) else 0)
