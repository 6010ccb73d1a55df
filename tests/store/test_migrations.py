"""The schema's migrations are listed in name order: the order a new store applies them."""

from __future__ import annotations

import json
import re

from ouhub.store import MIGRATIONS, Store


def test_migrations_are_listed_in_name_order_with_unique_numbers():
    names = [name for name, _ in MIGRATIONS]
    assert names == sorted(names), "ouhub/store/migrations.py: list the migrations in name order"
    numbers = [re.match(r"(\d{4})_[a-z0-9_]+$", name) for name in names]
    assert all(numbers), f"a migration is named NNNN_words: {names}"
    assert len({m.group(1) for m in numbers}) == len(names), "two migrations share a number"


def test_a_new_store_applies_them_in_the_listed_order(tmp_path):
    with Store.open(tmp_path / "s.sqlite") as store:
        applied = [r[0] for r in store._execute(
            "SELECT name FROM schema_migrations ORDER BY rowid")]
    assert applied == [name for name, _ in MIGRATIONS]


TOKEN = "ghp_0123456789abcdefTOKEN"
URL = f"https://ouhub-bot:{TOKEN}@github.com/OCA/OpenUpgrade.git"
TOKEN_URL = f"https://{TOKEN}@github.com/odoo/odoo.git"  # a token given as the user
BZR = "bzr+ssh://maint:s3cretpw@bazaar.example.org/openupgrade/7.0"
# a message longer than a page: the URL sits in an overflow page, which the update frees
LONG = "the command said: " + "x" * 6000 + f" while fetching {URL} " + "y" * 3000


def test_rows_stored_before_redaction_lose_their_credentials_and_keep_the_rest(tmp_path):
    path = tmp_path / "s.sqlite"
    before = [m for m in MIGRATIONS if m[0] < "0080"]
    with Store.open(path, migrations=before) as old:  # filled as ouhub wrote before issue 15
        old._execute(
            "INSERT INTO sync_state (release, branch, url, served_url, vcs, revid, revno, "
            "last_success, last_attempt, last_error) VALUES "
            "('17.0', 'openupgrade', ?, ?, 'git', 'abc', 3, 't', 't', NULL), "
            "('7.0', 'server', ?, NULL, 'bzr', NULL, NULL, NULL, 't', ?)",
            (URL, URL, BZR, f"cannot reach {BZR}: Connection refused"))
        old._execute(
            "INSERT INTO upstream_lag (release, branch, upstream_url, served_url, last_attempt, "
            "last_error) VALUES ('17.0', 'openupgrade', ?, ?, 't', ?)",
            (TOKEN_URL, TOKEN_URL, f"git fetch {TOKEN_URL} failed: 'Authentication failed'"))
        old._execute(
            "INSERT INTO runs (release, previous, sample, status, started_at, message) VALUES "
            "('17.0', '16.0', 's16', 'error', 't', ?)",
            (f"cannot fetch branch 17.0/openupgrade on this worker: {URL} (403)",))
        for _ in range(20):  # a night of failed runs, each quoting the URL
            old._execute("INSERT INTO runs (release, previous, sample, status, started_at, "
                         "message) VALUES ('17.0', '16.0', 's16', 'failed', 't', ?)", (LONG,))
        old._execute(
            "INSERT INTO stage_log (stage, started_at, finished_at, ok, summary) "
            "VALUES ('sync', 't', 't', 0, ?)",
            (json.dumps({"ok": False, "message": f"7.0/server: {BZR} refused"}),))
    assert TOKEN.encode() in path.read_bytes() + wal_of(path)

    with Store.open(path) as store:
        git, bzr = store.sync_state("17.0", "openupgrade"), store.sync_state("7.0", "server")
        lag = store.upstream_lags("17.0")[0]
        runs = store.runs()
        summary = store.last_stage_events()["sync"].summary

    hidden = "https://ouhub-bot:***@github.com/OCA/OpenUpgrade.git"
    assert (git.url, git.served_url, git.last_error) == (hidden, hidden, None)
    assert (git.revid, git.revno) == ("abc", 3)
    assert bzr.url == "bzr+ssh://maint:***@bazaar.example.org/openupgrade/7.0"
    assert bzr.last_error == f"cannot reach {bzr.url}: Connection refused"
    assert lag.upstream_url == lag.served_url == "https://***@github.com/odoo/odoo.git"
    assert lag.error == "git fetch https://***@github.com/odoo/odoo.git failed: " \
                        "'Authentication failed'"
    assert sorted(r.message for r in runs) == [
        f"cannot fetch branch 17.0/openupgrade on this worker: {hidden} (403)",
        *[LONG.replace(URL, hidden)] * 20]
    assert summary["message"] == f"7.0/server: {bzr.url} refused"
    # gone from the file itself, not only from what ouhub reads back
    for secret in (TOKEN, "s3cretpw"):
        assert secret.encode() not in path.read_bytes() + wal_of(path)


def wal_of(path):
    wal = path.with_name(path.name + "-wal")
    return wal.read_bytes() if wal.exists() else b""
