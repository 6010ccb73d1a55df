"""A worker's record is stored under the coordinator's run id once: a second one changes nothing."""

from __future__ import annotations

from ouhub.records import RunModule
from ouhub.store import Store


def test_a_run_done_twice_is_stored_once(tmp_path):
    with Store.open(tmp_path / "s.sqlite") as store:
        run_id = store.start_run(kind="run", release="7.0", previous="6.1", sample="s61",
                                 host="coordinator", pid=1)

        def record(status: str, worker: str) -> bool:
            return store.store_worker_run(
                run_id, status=status, duration=3.0, exit_code=0, message=f"{status} on {worker}",
                modules=[RunModule("sale", "upgraded" if status == "passed" else "failed")],
                log_path=f"/runs/{run_id}/upgrade.log", host=worker.split("@")[1],
                worker=worker, revisions={"server": "3 (rev)"}, losses=1)

        assert record("passed", "ouhub-1@w1") is True
        assert record("failed", "ouhub-2@w2") is False  # the lost worker finished after all

        run = store.run(run_id)
        assert (run.status, run.message, run.worker, run.host, run.losses, run.pid) == (
            "passed", "passed on ouhub-1@w1", "ouhub-1@w1", "w1", 1, None)
        assert run.revisions == {"server": "3 (rev)"} and run.finished_at
        assert [(m.module, m.outcome) for m in store.run_modules(run_id)] == [("sale", "upgraded")]
        assert store.store_worker_run(
            run_id + 1, status="passed", duration=1, exit_code=0, message="", modules=[],
            log_path=None, host="w", worker="w", revisions={}, losses=0) is False  # no such run
