"""A branch URL's credentials never reach what ouhub prints or stores; the fetch uses them.

Real git over HTTP (a loopback server of the repositories' files, git's dumb protocol)
serves a mirrored branch and its upstream through URLs that carry a user and a token;
another branch names an unreachable host, and a bzr+ssh fallback, both with secrets.
Each place a user sees is read: `config check` (text and JSON), `sync` (table, JSON,
errors), `upstream`, `status` (text and JSON), the store's file, the site, and a
worker's run record.
"""

from __future__ import annotations

import functools
import json
import sqlite3
import subprocess
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from click.testing import CliRunner

from ouhub import config as config_mod
from ouhub import output
from ouhub.cli import main
from ouhub.redact import redact_dsn, redact_urls
from ouhub.runner.host import run_task
from ouhub.runner.task import RunTask
from ouhub.store import Store
from tests.support.config import write_config
from tests.support.gitrepos import git_repo

TOKEN, UPSTREAM_TOKEN, BZR_PASS, DUMP_PASS = "ghpT0ken", "upT0ken", "bzrPa55", "dumpPa55"
SECRETS = (TOKEN, UPSTREAM_TOKEN, BZR_PASS, DUMP_PASS)


def hidden(text: str) -> str:
    """``text``, once checked to hold no secret."""
    for secret in SECRETS:
        assert secret not in text, text
    return text


@pytest.mark.parametrize("url, shown", [
    (f"https://ouhub:{TOKEN}@github.com/OCA/OpenUpgrade.git,branch=8.0",
     "https://ouhub:***@github.com/OCA/OpenUpgrade.git,branch=8.0"),
    (f"https://{TOKEN}@github.com/OCA/OpenUpgrade.git",  # a token given as the user
     "https://***@github.com/OCA/OpenUpgrade.git"),
    (f"bzr+ssh://me:{BZR_PASS}@bazaar.example.org/~ou/server/7.0",
     "bzr+ssh://me:***@bazaar.example.org/~ou/server/7.0"),
    ("ssh://git@github.com/OCA/OpenUpgrade.git", "ssh://git@github.com/OCA/OpenUpgrade.git"),
    ("git@github.com:OCA/OpenUpgrade.git", "git@github.com:OCA/OpenUpgrade.git"),
    ("lp:openupgrade-server/7.0", "lp:openupgrade-server/7.0"),
    ("https://github.com/OCA/OpenUpgrade.git,branch=8.0",
     "https://github.com/OCA/OpenUpgrade.git,branch=8.0"),
])
def test_a_branch_url_of_any_scheme_loses_its_credentials_alone(url, shown):
    assert redact_dsn(url) == shown


def test_every_url_in_a_message_is_redacted():
    message = (f"cannot mirror https://u:{TOKEN}@h/ou.git,branch=8.0: "
               f"'bzr+ssh://me:{BZR_PASS}@h/x': cannot fetch (see https://h/help)")
    assert redact_urls(message) == ("cannot mirror https://u:***@h/ou.git,branch=8.0: "
                                    "'bzr+ssh://me:***@h/x': cannot fetch (see https://h/help)")


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def git_http(tmp_path) -> Iterator[tuple[str, Path]]:
    """Serves ``tmp_path/served`` over HTTP on 127.0.0.1; yields its base URL (with the
    user and token) and the folder."""
    served = tmp_path / "served"
    served.mkdir()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=served))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{httpd.server_address[1]}", served
    finally:
        httpd.shutdown()
        httpd.server_close()


def served_repo(folder: Path, name: str, commits: list[dict[str, str]]) -> None:
    git_repo(folder / name, {"8.0": commits})
    subprocess.run(["git", f"--git-dir={folder / name}", "update-server-info"], check=True)


@pytest.fixture
def wide(monkeypatch) -> Iterator[None]:
    """Tables as wide as their URLs: a folded cell could split a token and hide it from a test."""
    monkeypatch.setenv("COLUMNS", "400")
    output._console.cache_clear()  # consoles are made once, with the width of their time
    yield
    output._console.cache_clear()


@pytest.fixture
def project(tmp_path, git_http, wide):
    host, served = git_http
    served_repo(served, "ou.git", [{"README": "ou\n"}])
    served_repo(served, "odoo.git", [{"README": "odoo\n"}, {"README": "odoo 2\n"}])
    return write_config(
        tmp_path,
        {"6.1": {"server": {"url": str(tmp_path / "b61"), "vcs": "bzr"}},
         "7.0": {"server": {"url": f"https://ouhub:{TOKEN}@127.0.0.1:1/ou.git,branch=7.0",
                            "fallback": [f"bzr+ssh://me:{BZR_PASS}@127.0.0.1:1/~ou/7.0"],
                            "vcs": "git"}},
         "8.0": {"openupgrade": {"url": f"http://ouhub:{TOKEN}@{host}/ou.git,branch=8.0",
                                 "upstream": f"http://odoo:{UPSTREAM_TOKEN}@{host}/odoo.git,"
                                             "branch=8.0",
                                 "vcs": "git"}}},
        samples=[{"name": "s61", "release": "6.1",
                  "dump": f"https://dl:{DUMP_PASS}@127.0.0.1:1/s61.dump"}],
        runner={"commands": {"7.0": "true {database}"}},
        site={"output": str(tmp_path / "site")},
    )


def ouhub(path: Path, *args: str):
    return CliRunner().invoke(main, ["--config", str(path), *args])


def test_config_check_shows_every_url_redacted(project):
    text = ouhub(project, "config", "check")
    assert text.exit_code == 0, text.output
    assert "https://ouhub:***@127.0.0.1:1/ou.git,branch=7.0" in hidden(text.output)
    data = json.loads(ouhub(project, "config", "check", "--json").stdout)
    hidden(json.dumps(data))
    assert data["releases"]["7.0"]["branches"]["server"]["fallback"] == [
        "bzr+ssh://me:***@127.0.0.1:1/~ou/7.0"]
    assert data["releases"]["8.0"]["branches"]["openupgrade"]["upstream"].startswith(
        "http://odoo:***@127.0.0.1:")


def test_sync_upstream_status_store_and_site_never_show_a_token(project, tmp_path):
    synced = ouhub(project, "sync", "--json")
    assert synced.exit_code == 1  # 7.0's host is down; 8.0 mirrored through its credentials
    runs = {r["release"]: r for r in json.loads(hidden(synced.stdout))["branches"]}
    assert runs["8.0"]["ok"] and runs["8.0"]["served_url"].startswith("http://ouhub:***@")
    assert not runs["7.0"]["ok"] and "bzr+ssh://me:***@127.0.0.1:1/~ou/7.0" in runs["7.0"]["error"]
    hidden(synced.stderr)
    table = ouhub(project, "sync")
    assert "https://ouhub:***@127.0.0.1:1/ou.git,branch=7.0" in hidden(table.output)

    lag = ouhub(project, "upstream", "--json")
    assert lag.exit_code == 0, lag.output
    assert json.loads(hidden(lag.output))[0]["upstream_url"].startswith("http://odoo:***@")
    hidden(ouhub(project, "upstream").output)

    for args in (["status"], ["status", "--json"]):
        shown = ouhub(project, *args)
        assert shown.exit_code == 0 and "FAILED" in shown.output or "cannot" in shown.output
        hidden(shown.output)

    config = config_mod.load(project)
    with sqlite3.connect(config.store_path) as db:  # every text the store keeps
        for (table_name,) in db.execute("SELECT name FROM sqlite_master WHERE type='table'"):
            for row in db.execute(f"SELECT * FROM {table_name}"):
                hidden(repr(row))
    built = ouhub(project, "site", "build")
    assert built.exit_code == 0, built.output
    pages = [p for p in (tmp_path / "site").rglob("*") if p.is_file()]
    assert pages and any("odoo:***@" in p.read_text(errors="replace") for p in pages)
    for page in pages:
        hidden(page.read_text(errors="replace"))


def test_a_workers_run_record_names_the_branch_without_its_token(project):
    config = config_mod.load(project)
    with Store.open(config.store_path) as store:
        task = RunTask(run_id=7, release="7.0", previous="6.1", sample="s61",
                       checksum="0" * 64, revisions={"server": "1" * 40}, timeout=60)
        record = run_task(config, store, task, "w")
    assert record.status == "error"
    assert "https://ouhub:***@127.0.0.1:1/ou.git" in hidden(record.message)
