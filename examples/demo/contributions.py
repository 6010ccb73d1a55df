"""The demo's pull requests, served offline by the loopback GitHub API the tests use.

A few pull requests into OpenUpgrade 7.0 in OCA's style, dated relative to today so
that the demo always shows work in progress: two people on hr_expense (a duplicate),
hr_holidays waiting for its author after a review asked for changes and idle for
months (stale), mrp's routings waiting for review, sale_crm merged but left unticked
in the tracking issue, and a documentation fix touching no module.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.support.github_server import GitHubServer

#: The demo never reads a real token: this variable is not set by anyone.
TOKEN_ENV = "OUHUB_DEMO_GITHUB_TOKEN"


def _ago(days: float) -> datetime:
    return datetime.now(UTC).replace(microsecond=0) - timedelta(days=days)


def _script(module: str, version: str = "7.0.1.0") -> str:
    return f"{module}/migrations/{version}/post-migration.py"


def _row(module: str, status: str) -> str:
    return f"@@ -40,3 +40,3 @@\n-|{module:<30}|{'':<30}|\n+|{module:<30}|{status:<30}|"


def serve_pull_requests() -> GitHubServer:
    """A started loopback GitHub API holding the demo's pull requests and tracking issue."""
    gh = GitHubServer(repo="OCA/OpenUpgrade")
    gh.start()
    alice = gh.add_pull(101, "[7.0][MIG] hr_expense: migration scripts", base="7.0",
                        author="demo-alice", created_at=_ago(20))
    alice.add_file(_script("hr_expense"))
    alice.add_file("doc/source/modules61-70.rst", _row("hr_expense", "Done"), status="modified")
    alice.push(_ago(19))
    alice.comment("demo-alice", _ago(3), "Rebased on the latest 7.0.")
    alice.comment("OCA-git-bot", _ago(2), "Hi! This PR has been idle.", bot=True)
    bob = gh.add_pull(102, "[7.0][MIG] hr_expense", base="7.0", author="demo-bob",
                      created_at=_ago(9))
    bob.add_file(_script("hr_expense"))
    bob.push(_ago(8))
    carol = gh.add_pull(103, "[7.0][MIG] hr_holidays: migration scripts", base="7.0",
                        author="demo-carol", created_at=_ago(300))
    carol.add_file(_script("hr_holidays", "7.0.1.5"))
    carol.push(_ago(299))
    carol.review("demo-maintainer", "CHANGES_REQUESTED", _ago(290),
                 "Please handle the allocation types too.")
    carol.label("demo-maintainer", _ago(10), "needs update")  # not the author's activity
    dan = gh.add_pull(104, "[7.0][MIG] mrp: migrate the routings", base="7.0",
                      author="demo-dan", created_at=_ago(40), labels=["Dependency OK"])
    dan.add_file(_script("mrp", "7.0.1.1"))
    dan.add_file("doc/source/modules61-70.rst", _row("mrp", "Done"), status="modified")
    dan.push(_ago(30))
    dan.review("demo-maintainer", "APPROVED", _ago(25))
    erin = gh.add_pull(90, "[7.0][MIG] sale_crm: migration scripts", base="7.0",
                       author="demo-erin", created_at=_ago(60))
    erin.add_file(_script("sale_crm"))
    erin.push(_ago(59))
    erin.review("demo-maintainer", "APPROVED", _ago(50))
    erin.close(_ago(45), merged=True)
    doc = gh.add_pull(105, "[7.0][DOC] fix the install instructions", base="7.0",
                      author="demo-frank", created_at=_ago(5))
    doc.add_file("README.md", status="modified")
    gh.add_issue(17, "Migration to version 7.0", "\n".join([
        "Full list of modules: doc/source/modules61-70.rst",
        "",
        "# Pending / done work",
        "- [ ] hr_expense - By @demo-alice - #101",
        "- [x] hr_holidays - By @demo-carol - #103",
        "- [ ] mrp - By @demo-dan - #104",
        "- [ ] sale_crm - By @demo-erin - #90",
        "- [ ] l10n_be",
    ]))
    return gh


def config_table(api: str) -> str:
    """The demo config's [contributions] table, pointing at the loopback API."""
    return "\n".join([
        "[contributions]",
        'github = "OCA/OpenUpgrade"',
        f'api = "{api}"  # the demo\'s loopback server; the real one is https://api.github.com',
        f'token_env = "{TOKEN_ENV}"',
        "stale_days = 120",
        "",
    ])
