"""parse_log_lines: a server log of any size is read as a stream, in bounded memory."""

from __future__ import annotations

import tracemalloc
from collections.abc import Iterator

from ouhub.runner.logparse import parse_log, parse_log_lines

HEAD = "2014-05-02 08:00:{s:02d},001 77 {level} db70 openerp.{logger}: {message}"


def line(i: int, message: str, level: str = "INFO", logger: str = "modules.loading") -> str:
    return HEAD.format(s=i % 60, level=level, logger=logger, message=message) + "\n"


def flood(lines: int) -> Iterator[str]:
    """A log whose middle is ``lines`` lines of noise, and whose end is sale's failure."""
    yield line(0, "module base: loading objects")
    yield line(1, "module sale: loading objects")
    for i in range(lines):
        yield line(i, f"module sale: loading record {i} of a data file " + "x" * 60)
    yield line(2, "module sale: Running migration [7.0.1.0>] post-migration",
               logger="modules.migration")
    yield line(3, "sale: error in migration script post-migration.py: boom", level="ERROR",
               logger="modules.migration")
    yield "Traceback (most recent call last):\n"
    for i in range(50_000):  # a traceback of pathological length
        yield f'  File "/srv/x{i}.py", line {i}, in f\n'
    yield "KeyError: 'partner_id'\n"


def test_the_stream_reads_what_the_whole_text_reads():
    text = "".join(flood(2_000))
    whole, streamed = parse_log(text), parse_log_lines(iter(text.splitlines(keepends=True)))
    assert streamed.modules_loaded == whole.modules_loaded == ("base", "sale")
    assert streamed.scripts_run == whole.scripts_run
    assert [(e.module, e.kind, e.message, e.lineno) for e in streamed.errors] == [
        (e.module, e.kind, e.message, e.lineno) for e in whole.errors]
    assert streamed.errors[0].excerpt == whole.errors[0].excerpt
    assert "KeyError: 'partner_id'" in streamed.errors[0].excerpt
    assert streamed.finished == whole.finished and streamed.fatal == whole.fatal


def test_a_flood_of_output_is_parsed_in_bounded_memory():
    lines = 30_000  # about 7 MB of log
    tracemalloc.start()
    try:
        report = parse_log_lines(flood(lines))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1_000_000, f"{peak:,} bytes held while parsing"  # the whole text: ~7 MB
    assert report.modules_loaded == ("base", "sale")
    error = report.primary_error("sale")
    assert error is not None and "KeyError: 'partner_id'" in error.excerpt


def test_errors_kept_per_module_are_capped_and_the_first_ones_stay():
    def errors() -> Iterator[str]:
        yield line(0, "module sale: loading objects")
        for i in range(20_000):
            yield line(i, f"module sale: bad record {i}", level="ERROR")
    tracemalloc.start()
    try:
        report = parse_log_lines(errors())
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1_000_000, f"{peak:,} bytes held while parsing"  # every error kept: ~10 MB
    assert report.errors_of("sale")[0].message == "module sale: bad record 0"
    assert 1 <= len(report.errors_of("sale")) <= 100
    assert report.failed_modules == ("sale",)
