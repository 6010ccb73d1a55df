"""What the site shows, as frozen dataclasses, and the pure helpers that derive it.

Like coverage.py's html.py: the data is gathered and every derived value (links,
counts, shares, plot coordinates) is computed here in Python; the templates only
loop and read fields. Nothing here does I/O.
"""

from __future__ import annotations

import collections
import functools
import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING
from urllib.parse import quote, urlsplit

from ouhub.coverage.status import coverage_share as share_of
from ouhub.vocab import COVERAGE_STATUSES

if TYPE_CHECKING:
    from ouhub.site.work import ReleaseWork, WorkRow

# One colour per status and run status; the word is always shown beside it.
COLOURS = {
    "done": "#2e7d32", "nothing_to_do": "#00838f", "partial": "#f9a825", "todo": "#c62828",
    "new": "#1565c0", "removed": "#757575", "renamed": "#6a1b9a", "merged": "#6a1b9a",
    "unknown": "#9e9e9e",
    "passed": "#2e7d32", "upgraded": "#2e7d32", "failed": "#c62828", "timeout": "#ef6c00",
    "error": "#6d4c41", "interrupted": "#ad1457", "not_reached": "#9e9e9e", "none": "#9e9e9e",
    "todo_in_progress": "#e65100",
    # failure classes ("new" is the coverage status's colour)
    "regression": "#b71c1c", "always_failing": "#880e4f", "flaky": "#ef6c00",
    "fixed": "#2e7d32",
}


def colour(status: str | None) -> str:
    return COLOURS.get(status or "none", "#9e9e9e")


# A symbol beside the word, for readers who cannot tell the colours apart; finished work and
# failures are solid chips, facts about a module outlined: "done", "nothing to do" and "todo"
# differ by colour, symbol and shape.
SYMBOLS = {
    "done": "\u2713", "nothing_to_do": "\u25cb", "partial": "\u25d0", "todo": "\u2717",
    "new": "+", "removed": "\u2212", "renamed": "\u2192", "merged": "\u2192", "unknown": "?",
    "passed": "\u2713", "upgraded": "\u2713", "failed": "\u2717", "timeout": "\u23f1",
    "error": "!", "interrupted": "\u25a0", "not_reached": "\u2026", "todo_in_progress": "\u270e",
    "regression": "\u2198", "always_failing": "\u2717", "flaky": "\u223f", "fixed": "\u2713",
}
SOLID = frozenset({"done", "todo", "passed", "failed", "timeout", "error", "interrupted",
                   "regression", "always_failing"})


@dataclass(frozen=True)
class Look:
    """How a status is shown: its word, colour, symbol and chip style (a CSS class)."""

    word: str
    colour: str
    symbol: str
    style: str


@functools.cache
def look(status: str | None) -> Look:
    return Look(word(status), colour(status), SYMBOLS.get(status or "", "\u00b7"),
                "solid" if status in SOLID else "outline")


@functools.cache
def date_text(value: str | None) -> str:
    """An ISO time as people read it, in UTC: ``26 Nov 2026 01:05 UTC``; other text as is."""
    if not value:
        return ""
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        return value
    if len(value) == 10:  # a date alone
        return f"{when.day} {when:%b %Y}"
    zone = ""
    if when.tzinfo is not None:
        when, zone = when.astimezone(UTC), " UTC"
    return f"{when.day} {when:%b %Y %H:%M}{zone}"


# Words that are more than the status with spaces.
WORDS = {"todo_in_progress": "todo \u00b7 in progress"}


def word(status: str | None) -> str:
    """The status as people read it: ``nothing_to_do`` -> ``nothing to do``."""
    return WORDS.get(status or "") or (status or "none").replace("_", " ")


_CONTROL_OR_SPACE = re.compile(r"[\x00-\x20]")


def safe_href(url: str | None) -> str | None:
    """The URL if it may become a link (http or https only), else None: shown as inert text."""
    if not url:
        return None
    url = url.strip()
    if _CONTROL_OR_SPACE.search(url):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    return url


@functools.cache  # pure, and called for each link to each of a few thousand names
def slug(name: str) -> str:
    """A file name for a module or sample: the name itself when it is plain, else a safe form.

    Module names come from branches we do not control; a name with odd characters
    still gets a unique, harmless file name (its cleaned form plus a short hash).
    """
    if re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,100}", name) and not name.endswith("."):
        return name
    clean = re.sub(r"[^A-Za-z0-9_]+", "_", name)[:40].strip("_") or "x"
    return f"{clean}-{hashlib.sha1(name.encode('utf-8', 'surrogatepass')).hexdigest()[:10]}"


@functools.lru_cache(maxsize=256)
def _quote_part(text: str) -> str:
    """A release or branch name quoted for a URL (the same few names for every module)."""
    return quote(text, safe="")


def code_link(pattern: str | None, release: str, branch: str, path: str,
              revision: str | None = None) -> str | None:
    """The code-browser URL of a file, from the ``[site] code_browser`` pattern; a pattern
    with ``{revision}`` links a commit's files at that commit (none without a revision)."""
    if not pattern:
        return None
    try:
        url = pattern.format(
            release=_quote_part(release), branch=_quote_part(branch),
            path=quote(path.lstrip("/"), safe="/"),
            **({"revision": _quote_part(revision)} if revision else {}),
        )
    except (KeyError, IndexError, ValueError):
        return None
    return safe_href(url)


def share_text(share: float | None) -> str:
    return "-" if share is None else f"{share * 100:.0f}%"


# -- records ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Link:
    """A text that may be a link; ``href`` is None when the URL was not http(s)."""

    text: str
    href: str | None = None


@dataclass(frozen=True)
class Count:
    status: str
    word: str
    count: int
    colour: str


@dataclass(frozen=True)
class Plot:
    """A line plot rendered as inline SVG: coordinates are ready for the template."""

    width: int
    height: int
    points: str  # "x,y x,y ..." for a <polyline>
    label: str  # text alternative, also shown in <title>
    first: str = ""
    last: str = ""
    area: str = ""  # the polygon under the line
    end: tuple[float, float] = (0.0, 0.0)  # the newest point, marked with a dot
    axes: bool = False  # 0% / 100% lines and the first and last dates (the bigger plots)
    first_date: str = ""
    last_date: str = ""
    top: float = 0.0  # y of 100% and of 0%
    bottom: float = 0.0


@dataclass(frozen=True)
class Mark:
    """One run in a timeline: a rectangle, its colour, its link and its tooltip."""

    x: int
    width: int
    status: str
    colour: str
    href: str | None  # None: a mark without a link (module pages' small strips)
    title: str


@dataclass(frozen=True)
class Timeline:
    width: int
    height: int
    marks: tuple[Mark, ...]
    label: str


@dataclass(frozen=True)
class SampleResult:
    sample: str
    status: str
    colour: str
    finished_at: str
    href: str | None  # the run page, relative to the site root


@dataclass(frozen=True)
class StepRow:
    """One row of the index: a release step and everything known about it."""

    release: str
    previous: str
    href: str
    badge: str
    counts: tuple[Count, ...]
    total: int
    share: float | None
    share_text: str
    plot: Plot | None
    scanned_at: str
    last_sync: str
    sync_ok: bool | None
    lag: int | None
    nightly: tuple[SampleResult, ...]


@dataclass(frozen=True)
class AnalysisPart:
    """One part of a module's analysis (fields, models, XML records): its changes, how many
    the analysts answered, how many are open (additions included)."""

    what: str
    changes: int
    annotated: int
    open: int


@dataclass(frozen=True)
class CoverageRow:
    """One module of a release step, as the release page and coverage.json show it."""

    module: str
    href: str  # module page, relative to the site root
    anchor: str  # its row's id on the release page
    status: str
    word: str
    colour: str
    target: str | None
    target_href: str | None  # None when the target has no page: then target_note says why
    target_note: str
    scripts: tuple[Link, ...]
    declaration: str
    apriori: str
    analysis_size: int | None
    analysed_share: float | None
    analysed_text: str
    disagreements: tuple[str, ...]
    last_outcome: str | None
    last_outcome_href: str | None
    in_progress: bool = False  # open work writes its scripts (contributions)
    open_changes: int | None = None  # changes no annotation answers, additions left out
    analysis: Link | None = None  # the analysis file read, in the code browser
    analysis_lines: tuple[str, ...] = ()  # the lines that say nothing is to do
    breakdown: tuple[AnalysisPart, ...] = ()


@dataclass(frozen=True)
class ReleasePage:
    release: str
    previous: str
    counts: tuple[Count, ...]
    share_text: str
    scanned_at: str
    modules: tuple[CoverageRow, ...]
    needs_scripts: tuple[CoverageRow, ...]
    plot: Plot | None
    badge: str
    json_href: str
    work: ReleaseWork | None = None  # the contributions sections


@dataclass(frozen=True)
class ModuleStep:
    """A module's status in one step, followed under its new name after a rename; the
    row as the release page has it, and for a rename or merge its target's status."""

    release: str
    previous: str
    release_href: str
    followed: bool
    row: CoverageRow
    target_status: str | None = None  # the target's status in the same step
    target_word: str = ""


@dataclass(frozen=True)
class ModuleRun:
    run_id: int
    href: str
    release: str
    sample: str
    finished_at: str
    outcome: str
    word: str
    colour: str

    @property
    def status(self) -> str:
        return self.outcome


@dataclass(frozen=True)
class ModuleSeries:
    """A module's outcomes in the runs of one sample over one step: counts and recent strip."""

    release: str
    sample: str
    href: str  # the series page
    counts: tuple[Count, ...]
    strip: Timeline
    failure_class: str | None = None  # the module's class in these runs, if it ever failed
    failures_href: str | None = None  # its row on the release's Failures page


@dataclass(frozen=True)
class ModulePage:
    module: str
    slug: str
    steps: tuple[ModuleStep, ...]
    renamed_from: tuple[Link, ...]
    series: tuple[ModuleSeries, ...]
    runs: tuple[ModuleRun, ...]  # the newest few, across samples
    badge: str
    work: tuple[WorkRow, ...] = ()  # pull requests and merge proposals, newest first
    feed: str = ""  # the module's own Atom feed


@dataclass(frozen=True)
class RunModuleRow:
    module: str
    href: str | None
    outcome: str
    word: str
    colour: str
    version_before: str
    version_after: str
    excerpt: str
    failure_class: str | None = None  # the module's class after this run
    fingerprint: str | None = None  # the failure's key
    failures_href: str | None = None  # its row on the release's Failures page


@dataclass(frozen=True)
class RunPage:
    run_id: int
    release: str
    previous: str
    sample: str
    status: str
    word: str
    colour: str
    started_at: str
    finished_at: str
    duration: str
    message: str
    revisions: tuple[tuple[str, str], ...]
    counts: tuple[Count, ...]
    failures: tuple[RunModuleRow, ...]
    attributed: tuple[RunModuleRow, ...]
    series_href: str
    previous_href: str | None
    next_href: str | None


@dataclass(frozen=True)
class RunSummary:
    run_id: int
    href: str
    status: str
    word: str
    colour: str
    finished_at: str
    duration: str
    failed: tuple[str, ...]


@dataclass(frozen=True)
class Series:
    """The runs of one sample over one step, newest first, with its timeline."""

    release: str
    previous: str
    sample: str
    href: str
    timeline: Timeline
    recent: Timeline
    runs: tuple[RunSummary, ...]
    last: RunSummary | None
    passed: int
    total: int


@dataclass(frozen=True)
class Revision:
    revision: str
    author: str
    date: str
    message: str
    modules: tuple[Link, ...]


@dataclass(frozen=True)
class UpstreamBranch:
    release: str
    branch: str
    upstream: Link
    lag: int | None
    checked_at: str
    error: str
    revisions: tuple[Revision, ...]


# -- derivations --------------------------------------------------------------------------------


def counts_of(
    statuses: Iterable[str], order: Sequence[str] = COVERAGE_STATUSES
) -> tuple[Count, ...]:
    tally = collections.Counter(statuses)
    known = [s for s in order if s in tally] + sorted(s for s in tally if s not in order)
    return tuple(_count(s, tally[s]) for s in known)


@functools.lru_cache(maxsize=4096)  # a run page's counts recur run after run (bench/site.py)
def _count(status: str, count: int) -> Count:
    return Count(status, word(status), count, colour(status))


def coverage_share(counts: Iterable[Count]) -> float | None:
    """The share of a step's modules needing a decision that are done or nothing to do."""
    return share_of({c.status: c.count for c in counts})


def line_plot(
    values: Sequence[tuple[str, float]], width: int = 160, height: int = 36, what: str = "",
    axes: bool = False,
) -> Plot | None:
    """A line of (time, share 0..1) points, oldest left; None without any point. One scan
    is a dot at its share, not a line over a time it does not span."""
    if not values:
        return None
    # Room for the 0% / 100% labels on the left and the dates below.
    left, right, top = (34, 6, 6) if axes else (2, 4, 4)
    bottom = height - (18 if axes else 3)
    scans = len(values)
    if scans == 1:
        y = bottom - max(0.0, min(1.0, values[0][1])) * (bottom - top)
        xy = [(float(width - right), y)]
        points = area = ""
    else:
        step = (width - left - right) / (len(values) - 1)
        xy = [(left + i * step, bottom - max(0.0, min(1.0, v)) * (bottom - top))
              for i, (_, v) in enumerate(values)]
        points = " ".join(f"{x:.1f},{y:.1f}" for x, y in xy)
        area = f"{left:.1f},{bottom:.1f} {points} {xy[-1][0]:.1f},{bottom:.1f}"
    first, last = values[0], values[-1]
    label = (f"{what}: {share_text(last[1])} on {date_text(last[0])} (one scan so far)"
             if scans == 1 else
             f"{what}: {share_text(first[1])} on {date_text(first[0])}, "
             f"{share_text(last[1])} on {date_text(last[0])} ({scans} scans)")
    return Plot(width, height, points, label, share_text(first[1]), share_text(last[1]),
                area=area, end=(round(xy[-1][0], 1), round(xy[-1][1], 1)), axes=axes,
                # The day is enough under an axis.
                first_date=date_text(first[0][:10]), last_date=date_text(last[0][:10]),
                top=float(top), bottom=float(bottom))


def timeline(
    runs: Sequence[RunSummary | ModuleRun], root: str | None, width: int = 600, height: int = 18,
    what: str = "",
) -> Timeline:
    """One rectangle per run, oldest left; ``runs`` come newest first; root None: no links."""
    ordered = list(reversed(runs))
    n = max(len(ordered), 1)
    # A bar is at most 14 px wide: three runs are three bars, not a progress bar.
    slot = min(max(width / n, 1.0), 14.0)
    width = int(slot * n) if slot > 1.0 else n
    marks = tuple(
        Mark(
            x=int(i * slot), width=max(int(slot) - (1 if slot >= 3 else 0), 1), status=r.status,
            colour=r.colour, href=None if root is None else root + r.href,
            title=f"run {r.run_id}, {date_text(r.finished_at)}: {r.word}",
        )
        for i, r in enumerate(ordered)
    )
    passed = sum(1 for r in runs if r.status in ("passed", "upgraded"))
    return Timeline(width, height, marks, f"{what}: {passed} of {len(runs)} runs passed")


def duration_text(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    seconds = float(seconds)
    if seconds < 90:
        return f"{seconds:.0f}s"
    if seconds < 5400:
        return f"{seconds / 60:.0f}min"
    return f"{seconds / 3600:.1f}h"
