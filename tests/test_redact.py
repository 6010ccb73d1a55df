"""Credentials never reach what ouhub prints or stores: every DSN and URL goes through redact."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from ouhub.cli import main
from ouhub.errors import RunnerError
from ouhub.pgcluster import dsn_for
from ouhub.redact import redact_argv, redact_dsn
from ouhub.runner.pg import connect
from tests.support.config import write_config

SECRET_WORDS = ("Top", "Secret99", "Secret", "s3cr3t", "p@ss", "guestpw")


@pytest.mark.parametrize(
    "dsn, kept",
    [
        pytest.param("host=127.0.0.1 user=postgres password='Top Secret99'",
                     ["host=127.0.0.1", "user=postgres", "password=***"], id="keyword-quoted-space"),
        pytest.param(r"host=h password='it\'s Top' user=u", ["host=h", "user=u"],
                     id="keyword-escaped-quote"),
        pytest.param("password=s3cr3t host=h", ["host=h", "password=***"], id="keyword-first"),
        pytest.param("postgresql://postgres:Top%20Secret99@127.0.0.1:5432/postgres",
                     ["postgresql://postgres:***@127.0.0.1:5432/postgres"], id="uri-percent-space"),
        pytest.param("postgresql://u:p@ss@db.example.org/prod",
                     ["@db.example.org/prod"], id="uri-unescaped-at"),
        pytest.param("postgresql://u@h/db?password=s3cr3t&sslmode=require",
                     ["postgresql://u@h/db", "sslmode=require"], id="uri-query-password"),
        pytest.param("amqp://ouhub:guestpw@rabbit.example.org:5672/ouhub",
                     ["amqp://ouhub:***@rabbit.example.org:5672/ouhub"], id="broker-url"),
        pytest.param("amqp://ouhub:gu/estpw@rabbit/vhost", ["@rabbit/vhost"],
                     id="broker-url-slash-in-password"),
        pytest.param("host=h password=Top Secret99 broken", ["host=h"], id="unparseable-keyword"),
    ],
)
def test_redact_hides_every_part_of_the_password(dsn, kept):
    shown = redact_dsn(dsn)
    for word in SECRET_WORDS + ("gu/estpw", "estpw", "it\\'s", "ss@"):
        if word in dsn and word not in "".join(kept):
            assert word not in shown, shown
    for part in kept:
        assert part in shown


@pytest.mark.parametrize("text", ["postgresql://postgres@127.0.0.1:5432/postgres", "prod61",
                                  "host=h port=5433 dbname=x", ""])
def test_redact_keeps_what_holds_no_password(text):
    assert redact_dsn(text) == text or (
        text and sorted(redact_dsn(text).split()) == sorted(text.split()))


def test_the_keyword_dsn_built_from_a_url_stays_hidden():
    # migrate and the runner turn the configured URL into a keyword DSN naming another database
    built = dsn_for("postgresql://postgres:Top%20Secret99@127.0.0.1:1/postgres", "prod61")
    assert "Top Secret99" in built  # the real one, for libpq
    shown = redact_dsn(built)
    assert "Top" not in shown and "Secret99" not in shown and "dbname=prod61" in shown


def test_argv_with_a_dsn_and_a_secret():
    argv = ["psql", "host=h password='Top Secret99'", "--pw", "s3cr3t",
            "postgresql://u:Top%20Secret99@h/db"]
    shown = redact_argv(argv, ["s3cr3t"])
    assert not any(word in shown for word in SECRET_WORDS), shown
    assert "psql" in shown and "--pw" in shown


def test_connection_error_names_the_server_without_the_password():
    with pytest.raises(RunnerError) as caught, connect(
            "postgresql://postgres:Top%20Secret99@127.0.0.1:1/postgres", "prod61"):
        pass
    message = caught.value.message
    assert "127.0.0.1" in message
    assert "Top" not in message and "Secret99" not in message


def test_config_check_never_prints_the_password(tmp_path):
    path = write_config(tmp_path, {"7.0": {"server": "lp:openupgrade-server/7.0"}},
                        dsn="host=127.0.0.1 user=postgres password='Top Secret99'")
    for extra in ([], ["--json"]):
        result = CliRunner().invoke(main, ["--config", str(path), "config", "check", *extra])
        assert result.exit_code == 0, result.output
        assert "password" in result.output
        assert "Top" not in result.output and "Secret99" not in result.output, result.output


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ('File "/work/wt/x/tests/standin/openerp_server.py", line 116, in migrate',
         'File "openerp_server.py", line 116, in migrate'),
        ("/srv/ou/7.0/addons/sale/migrations/7.0.1.0/post-migration.py:12",
         "addons/sale/migrations/7.0.1.0/post-migration.py:12"),
        ("/opt/odoo/odoo/addons/base/models/ir_model.py", "addons/base/models/ir_model.py"),
        ("upstream at /home/me/upstream/7.0/addons/", "upstream at addons"),
        ("see https://github.com/OCA/OpenUpgrade/blob/7.0/x.py", "see https://github.com/OCA/OpenUpgrade/blob/7.0/x.py"),
        ("addons/sale/x.py, 3/4 done on 2026/11/30", "addons/sale/x.py, 3/4 done on 2026/11/30"),
        ("<script>x</script> in /bin", "<script>x</script> in /bin"),  # one part: no layout
    ],
)
def test_published_text_hides_the_hosts_paths(text: str, shown: str) -> None:
    from ouhub.redact import hide_paths

    assert hide_paths(text) == shown
