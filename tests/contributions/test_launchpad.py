"""Merge proposals of the bzr era through launchpadlib, against the loopback Launchpad."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from ouhub.contributions.launchpad import read_proposals
from ouhub.contributions.report import load_report
from ouhub.contributions.stage import run_contributions
from ouhub.store import Store
from ouhub.sync import launchpad
from ouhub.sync.launchpad import ENV_SERVICE_ROOT
from tests.support.config import make_config
from tests.support.fill import module, scan
from tests.support.github_server import GitHubServer
from tests.sync.launchpad_server import LaunchpadServer

OWNER = "~openupgrade-committers"
TARGET = f"{OWNER}/openupgrade-addons/7.0"


@pytest.fixture(scope="module")
def lp() -> Iterator[LaunchpadServer]:
    launchpad.forget_connections()
    with LaunchpadServer() as server:
        server.add_project("openupgrade-addons", development_focus="7.0")
        server.add_branch(TARGET)
        server.add_series("openupgrade-addons", "7.0", branch=TARGET)
        server.add_merge_proposal(
            "~therp/openupgrade-addons/7.0-migrate-stock", TARGET, "stefan",
            queue_status="Merged", date_created="2013-02-01T00:00:00+00:00",
            date_merged="2013-05-01T00:00:00+00:00",
            diffstat={"stock/migrations/7.0.1.1/pre-migration.py": [10, 0], "README": [1, 1]})
        server.add_merge_proposal("~bob/openupgrade-addons/7.0-account_voucher", TARGET, "bob")
        server.add_merge_proposal("~eve/openupgrade-addons/trunk-x",
                                  f"{OWNER}/openupgrade-addons/trunk", "eve",
                                  queue_status="Rejected", diffstat={})
        server.add_project("openupgrade-server")
        server.gone.add("openupgrade-server")
        yield server
    launchpad.forget_connections()


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("lpcache")


def test_proposals_with_their_branches_registrant_and_paths(
    lp: LaunchpadServer, cache: Path
) -> None:
    reading = read_proposals(["openupgrade-addons"], ["6.1", "7.0"],
                             service_root=lp.service_root, cache_dir=cache)
    assert reading.unreachable == ()
    merged, waiting, rejected = reading.proposals
    assert (merged.source_branch, merged.target_branch, merged.release) == (
        "~therp/openupgrade-addons/7.0-migrate-stock", TARGET, "7.0")
    assert (merged.registrant, merged.work_state, merged.merged_at) == (
        "stefan", "merged", "2013-05-01T00:00:00+00:00")
    assert merged.paths == ("README", "stock/migrations/7.0.1.1/pre-migration.py")
    assert merged.url.endswith("/~therp/openupgrade-addons/7.0-migrate-stock/+merge/1")
    assert (waiting.work_state, waiting.paths) == ("open", ())
    assert (rejected.release, rejected.work_state) == (None, "closed")  # trunk is no release
    assert reading.diffs_read == 2


def test_stored_proposals_are_not_read_again(lp: LaunchpadServer, cache: Path) -> None:
    first = read_proposals(["openupgrade-addons"], ["7.0"], service_root=lp.service_root,
                           cache_dir=cache)
    before = len(lp.requests)
    again = read_proposals(["openupgrade-addons"], ["7.0"], service_root=lp.service_root,
                           cache_dir=cache, stored={p.url: p for p in first.proposals})
    assert again.proposals == first.proposals and again.diffs_read == 0
    assert not any("+preview-diff" in path for path, _ in lp.requests[before:])


def test_projects_that_do_not_answer_are_listed_not_raised(
    lp: LaunchpadServer, cache: Path
) -> None:
    reading = read_proposals(["openupgrade-server", "no-such-project", "openupgrade-addons"],
                             ["7.0"], service_root=lp.service_root, cache_dir=cache)
    assert reading.unreachable == (
        ("openupgrade-server", "Launchpad project openupgrade-server does not answer: HTTP 410"),
        ("no-such-project", "Launchpad has no project 'no-such-project'"),
    )
    assert len(reading.proposals) == 3  # the project that answers is read all the same


def test_an_unreachable_service_root_lists_every_project(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    reading = read_proposals(["openupgrade-server", "openupgrade-addons"], ["7.0"],
                             service_root=f"http://127.0.0.1:{port}/", cache_dir=tmp_path)
    assert reading.proposals == ()
    assert [p for p, _ in reading.unreachable] == ["openupgrade-server", "openupgrade-addons"]
    assert all(f"127.0.0.1:{port} is unreachable" in m for _, m in reading.unreachable)


def test_the_stage_stores_proposals_and_says_once_that_a_project_is_gone(
    lp: LaunchpadServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ENV_SERVICE_ROOT, lp.service_root)
    with GitHubServer() as gh:
        config = make_config(
            tmp_path, {"6.1": {"addons": "lp:openupgrade-addons/6.1"},
                       "7.0": {"addons": "lp:openupgrade-addons/7.0"}},
            contributions={"api": gh.api, "token_env": "OUHUB_TEST_NO_TOKEN",
                           "launchpad": ["openupgrade-addons", "openupgrade-server"]})
        with Store.open(config.store_path) as store:
            scan(store, "7.0", "6.1", [module("7.0", m, "todo") for m in
                                       ("stock", "account_voucher")])
            first = run_contributions(config, store)
            assert first.proposals == 3 and first.launchpad_gone == ("openupgrade-server",)
            assert any("openupgrade-server does not answer: HTTP 410" in n and "said once" in n
                       for n in first.notes)
            again = run_contributions(config, store)
            assert again.launchpad_gone == () and not any("410" in n for n in again.notes)
            assert again.ok  # a project gone is history, not a failure
            works = {(w.ref, w.module): w for w in load_report(store, 120).works}
    stock = works[("lp:~therp/openupgrade-addons/7.0-migrate-stock", "stock")]
    assert (stock.source, stock.state, stock.author) == ("launchpad", "merged", "stefan")
    assert [e.kind for e in stock.evidence] == ["base", "scripts"]
    voucher = works[("lp:~bob/openupgrade-addons/7.0-account_voucher", "account_voucher")]
    assert (voucher.state, [e.kind for e in voucher.evidence]) == ("open", ["base", "branch"])
