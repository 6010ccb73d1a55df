"""The plain-dump guard: psql meta-commands in a sample dump are refused, pg_dump's own pass."""

from __future__ import annotations

import pytest

from ouhub.runner.plaindump import MetaCommandError, PlainDumpGuard, psql_restricts

KEY = b"7Xm2nsGzGkkzSas5dHDp17AM5njnilmpdcIgP8YBtr9v5VaqcZAnTM7AySBPq1B"

# the shape of a real `pg_dump -Fp` of PostgreSQL 15.14 and later
REAL_DUMP = b"""--
-- PostgreSQL database dump
--

\\restrict """ + KEY + b"""

SET statement_timeout = 0;
CREATE TABLE public.t (a text);
COPY public.t (a) FROM stdin;
\\N
\\\\! not a command: data
\\.
CREATE FUNCTION public.f() RETURNS text LANGUAGE sql AS $$ SELECT '\\d+' $$;

--
-- PostgreSQL database dump complete
--

\\unrestrict """ + KEY + b"""

"""


def feed(guard: PlainDumpGuard, text: bytes, chunk: int | None = None) -> bytes:
    out = []
    lines = text.splitlines(keepends=True)
    for line in lines:
        pieces = [line] if chunk is None else [line[i:i + chunk] for i in range(0, len(line), chunk)]
        out.extend(guard.feed(piece) for piece in pieces)
    return b"".join(out)


def test_a_real_dump_passes_without_its_own_restrict_lines():
    out = feed(PlainDumpGuard(), REAL_DUMP)
    assert b"\\restrict" not in out and b"\\unrestrict" not in out
    assert b"\\\\! not a command: data\n\\.\n" in out  # COPY data untouched
    assert out.replace(b"\n\n", b"\n") == REAL_DUMP.replace(b"\\restrict " + KEY + b"\n", b"") \
        .replace(b"\\unrestrict " + KEY + b"\n", b"").replace(b"\n\n", b"\n")


@pytest.mark.parametrize(
    "text, command, line",
    [
        pytest.param(b"SELECT 1;\n\\! touch /tmp/x\n", "\\!", 2, id="shell"),
        pytest.param(b"\\c postgres\nCREATE TABLE x ();\n", "\\c", 1, id="connect"),
        pytest.param(b"  \\connect postgres\n", "\\connect", 1, id="indented"),
        pytest.param(b"\\copy t from '/etc/passwd'\n", "\\copy", 1, id="client-copy"),
        pytest.param(b"\\i /etc/passwd\n", "\\i", 1, id="include"),
        pytest.param(b"\\set ON_ERROR_STOP 0\n", "\\set", 1, id="set"),
        pytest.param(b"\\restrict not-a-key!\n", "\\restrict", 1, id="restrict-odd-key"),
        pytest.param(b"COPY t FROM stdin;\nx\n\\.\n\\! id\n", "\\!", 4, id="after-copy"),
        pytest.param(b"\\.\n", "\\.", 1, id="terminator-outside-copy"),
    ],
)
def test_a_meta_command_is_refused_with_its_line(text, command, line):
    with pytest.raises(MetaCommandError) as caught:
        feed(PlainDumpGuard(), text)
    assert caught.value.command == command and caught.value.line == line
    assert command in str(caught.value) and f"line {line}" in str(caught.value)


def test_a_long_line_cut_in_pieces_is_judged_by_its_start():
    # readline(limit) hands a long line over in pieces: a piece that starts with a backslash
    # in the middle of a line is no command
    text = b"INSERT INTO t VALUES ('" + b"a" * 9 + b"\\! not at the start');\n\\q\n"
    with pytest.raises(MetaCommandError) as caught:
        feed(PlainDumpGuard(), text, chunk=10)
    assert caught.value.line == 2 and caught.value.command == "\\q"


@pytest.mark.parametrize(
    "version, restricts",
    [
        ("psql (PostgreSQL) 15.20 (Debian 15.20-0+deb12u1)", True),
        ("psql (PostgreSQL) 15.13", False),
        ("psql (PostgreSQL) 15.14", True),
        ("psql (PostgreSQL) 17.5", False),
        ("psql (PostgreSQL) 17.6", True),
        ("psql (PostgreSQL) 18.0", True),
        ("psql (PostgreSQL) 13.22", True),
        ("psql (PostgreSQL) 12.22", False),
        ("psql (PostgreSQL) 16.10", True),
        ("psql (PostgreSQL) 14.18", False),
        ("psql (PostgreSQL) 19devel", True),
        ("not psql", False),
    ],
)
def test_which_psql_has_restricted_mode(version, restricts):
    assert psql_restricts(version) is restricts
