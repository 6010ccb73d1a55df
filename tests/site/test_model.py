"""The site's pure helpers: dates, status looks, plots and timelines."""

from __future__ import annotations

import pytest

from ouhub.site import model as m
from ouhub.vocab import COVERAGE_STATUSES, OUTCOMES, RUN_STATUSES


@pytest.mark.parametrize(("value", "text"), [
    ("2026-11-26T01:05:34+00:00", "26 Nov 2026 01:05 UTC"),
    ("2013-01-09T07:20:00+02:00", "9 Jan 2013 05:20 UTC"),  # shown in UTC
    ("2026-01-01T00:00:00", "1 Jan 2026 00:00"),  # no zone stored: none claimed
    ("2026-01-01", "1 Jan 2026"),
    ("yesterday", "yesterday"),  # not a time: shown as stored
    ("", ""),
    (None, ""),
])
def test_date_text(value, text):
    assert m.date_text(value) == text


def test_done_nothing_to_do_and_todo_never_look_alike():
    looks = [m.look(s) for s in ("done", "nothing_to_do", "todo")]
    for attribute in ("word", "colour", "symbol"):
        assert len({getattr(x, attribute) for x in looks}) == 3, attribute
    assert m.look("done").style != m.look("nothing_to_do").style


def test_every_status_has_its_own_word_and_symbol():
    for status in (*COVERAGE_STATUSES, *RUN_STATUSES, *OUTCOMES):
        look = m.look(status)
        assert look.word and look.symbol != m.look("no such status").symbol, status
    assert m.look(None).word == "none"


def test_plot_runs_from_oldest_to_newest_and_labels_its_dates():
    plot = m.line_plot([("2026-01-01T00:00:00+00:00", 0.25), ("2026-02-01T00:00:00+00:00", 1.0)],
                       width=200, height=90, what="coverage of 8.0", axes=True)
    (x0, y0), (x1, y1) = (tuple(map(float, p.split(","))) for p in plot.points.split())
    assert x0 < x1 and y1 == plot.top and y0 > y1  # 100% at the top
    assert plot.end == (x1, y1)
    assert (plot.first_date, plot.last_date) == ("1 Jan 2026", "1 Feb 2026")
    assert plot.label == ("coverage of 8.0: 25% on 1 Jan 2026 00:00 UTC, "
                          "100% on 1 Feb 2026 00:00 UTC (2 scans)")
    assert m.line_plot([]) is None


def test_timeline_bars_keep_a_readable_width():
    runs = [m.RunSummary(run_id=i, href=f"runs/{i}.html", status="passed", word="passed",
                         colour=m.colour("passed"), finished_at="", duration="-", failed=())
            for i in (3, 2, 1)]
    few = m.timeline(runs, "", width=600)
    assert few.width <= 3 * 14 and [mk.href for mk in few.marks] == [
        "runs/1.html", "runs/2.html", "runs/3.html"]  # oldest left
    many = m.timeline(runs * 400, "", width=600)
    assert many.width <= 1200 and all(mk.width >= 1 for mk in many.marks)


def test_a_pages_data_hash_covers_every_field_of_every_record():
    """Pages are hashed through repr (incremental.data_hash: C-fast, an explicit walk of the
    fields measured 1.6-2x slower): exact only while every record's repr shows every field.
    A field left out of repr, or a hand-written __repr__, would leave a changed page unwritten."""
    import dataclasses
    import inspect

    from ouhub import records
    from ouhub.site import failures, model, work

    classes = {cls for module in (records, model, failures, work)
               for _, cls in inspect.getmembers(module, inspect.isclass)
               if dataclasses.is_dataclass(cls)}
    assert len(classes) > 30
    for cls in classes:
        hidden = [f.name for f in dataclasses.fields(cls) if not f.repr]
        assert not hidden, f"{cls.__qualname__}: fields out of repr: {hidden}"
        generated = getattr(cls.__repr__, "__wrapped__", None)  # dataclasses' own, wrapped
        assert generated is not None and generated.__code__.co_filename == "<string>", (
            f"{cls.__qualname__} has a __repr__ of its own")
