"""What reaches the terminal is the data as it is: no rich markup, no emoji, no escape sequences."""

from __future__ import annotations

import logging
import re
import subprocess
import sys

import pytest

from ouhub import output

HOSTILE = [
    "Mallory [/bold]",  # an upstream author
    "ERROR db openerp: [/] closed nothing",  # a log line
    "lp:~me/openupgrade-server/[/]",  # a branch URL
    "[bold red]RED",  # a module folder
    "root:x:0:0",  # an emoji code in /etc/passwd
]


@pytest.mark.parametrize("text", HOSTILE)
def test_a_table_shows_data_as_it_is(capsys, text):
    output.print_table(["what"], [(text,)])
    assert text in capsys.readouterr().out


@pytest.mark.parametrize("text", HOSTILE)
def test_printed_lines_and_diagnostics_show_data_as_it_is(capsys, text):
    output.stdout.print(f"note: {text}")
    output.info(f"diagnostic: {text}")
    captured = capsys.readouterr()
    assert f"note: {text}" in captured.out and f"diagnostic: {text}" in captured.err


def test_progress_labels_show_data_as_it_is(caplog):
    caplog.set_level(logging.INFO, logger="ouhub")
    with output.progress("sync", total=2) as advance:
        advance("Mallory [/bold]")
        advance("[bold red]RED")
    assert "Mallory [/bold]" in caplog.text and "[bold red]RED" in caplog.text


@pytest.mark.parametrize(
    "text, shown",
    [
        ("\x1b]0;owned\x07title", "]0;ownedtitle"),  # sets the terminal's title
        ("\x1b[2J\x1b[Hclear", "[2J[Hclear"),  # clears the screen
        ("red \x1b[31mtext\x1b[0m", "red [31mtext[0m"),
        ("\x9b31mC1 CSI", "31mC1 CSI"),
        ("back\rspace\bbell\x07", "backspacebell"),
        ("tab\tand\nnewline stay", "tab\tand\nnewline stay"),
        ("accents é ü and 中文 stay", "accents é ü and 中文 stay"),
    ],
)
def test_escape_sequences_never_reach_the_terminal(capsys, caplog, text, shown):
    assert output.terminal_safe(text) == shown
    output.stdout.print(text)
    output.info(text)
    output.print_table(["what"], [(text,)])
    captured = capsys.readouterr()
    for stream in (captured.out, captured.err):
        assert "\x1b" not in stream and "\x9b" not in stream and "\x07" not in stream


def test_log_lines_lose_their_escape_sequences():
    # in a child: pytest's own log handlers would stand in for ouhub's here
    code = ("import logging; from ouhub import output; output.setup_logging(1, False); "
            "logging.getLogger('ouhub.x').warning('server said %s', '\\x1b]0;owned\\x07hi')")
    err = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stderr
    assert "server said ]0;ownedhi" in err and "\x1b" not in err


@pytest.mark.parametrize("verbose", [0, 1])
def test_logging_imported_after_it_was_set_up_logs_as_set_up(verbose: int) -> None:
    # most commands never import logging: it is configured when it is first imported,
    # before anything can log (here through logging.handlers, which imports it)
    code = ("import sys; from ouhub import output; "
            f"output.setup_logging({verbose}, False); "
            "assert 'logging' not in sys.modules; import logging.handlers, logging; "
            "logging.getLogger('ouhub.x').info('late %s', 'import'); "
            "logging.getLogger('ouhub.x').warning('careful'); "
            "logging.getLogger('breezy').info('chatty')")
    err = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stderr
    assert re.search(r"^\d{4}-\d\d-\d\d [\d:,]+ WARNING ouhub.x: careful$", err, re.M), err
    assert ("INFO ouhub.x: late import" in err) == bool(verbose)
    assert "chatty" not in err

@pytest.mark.parametrize(("columns", "widest"), [("70", 70), ("", 160), ("junk", 160)])
def test_piped_tables_honour_columns(columns: str, widest: int) -> None:
    # a real process with its stdout piped, as `ouhub coverage show 19.0 | less` runs
    code = ("from ouhub import output; "
            "output.print_table(['module', 'meaning'], [('x', 'word ' * 60)])")
    env = {"COLUMNS": columns, "PATH": "/usr/bin:/bin"}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=env, check=True)
    width = max(len(line) for line in proc.stdout.splitlines())
    assert width == widest
