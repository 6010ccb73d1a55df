"""The site's failures: each release's Failures page and its JSON, the failure class shown on
run and module pages, and the Atom feeds (per release, per module set).

Derived once per build from the gathered runs (``Failures``): every module's history per
release and sample, classified by ``runner/failures.py``; the suspect commits the runner
stage stored. The templates only loop and read fields.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ouhub.coverage.queries import status_changes
from ouhub.records import Attempt, Fingerprint, revisions_of
from ouhub.redact import hide_paths
from ouhub.runner.failures import ModuleFailures, classes_by_run, classify, fingerprint_history
from ouhub.runner.fingerprint import fingerprint_reason
from ouhub.site import model as m
from ouhub.site.atom import Feed, FeedEntry, render_atom
from ouhub.site.gather import EXCERPT, FINGERPRINT, MODULE, OUTCOME, Gathered
from ouhub.vocab import FAILURE_CLASSES, FIXED, NEW, REGRESSION

FEED_ENTRIES = 50  # the newest entries a release's feed, or a module set's, keeps
MODULE_FEED_ENTRIES = 20  # a single module's: its news are few, and there are hundreds of them
FEED_NEWS = (NEW, REGRESSION, FIXED)  # the class changes a feed tells, beside coverage changes
EPOCH = "1970-01-01T00:00:00+00:00"  # a feed's time when the site knows no time at all
Triple = tuple[str, str, str]  # (release, sample, module)


def failures_href(release: str) -> str:
    return f"failures/{m.slug(release)}.html"


def module_set_key(modules: Iterable[str]) -> str:
    """The name of a module set's feed: the SHA-1 of its sorted names joined by commas."""
    return hashlib.sha1(",".join(sorted(set(modules))).encode("utf-8")).hexdigest()


def module_feed_href(modules: Iterable[str]) -> str:
    return f"feeds/modules/{module_set_key(modules)}.xml"


# -- what the runs say ------------------------------------------------------------------------


@dataclass
class Failures:
    """Every module's history per (release, sample), its class, and its class after each run."""

    histories: dict[Triple, list[Attempt]] = field(default_factory=dict)
    classes: dict[Triple, ModuleFailures] = field(default_factory=dict)
    by_run: dict[tuple[int, str], str] = field(default_factory=dict)  # (run, module) -> class
    fingerprints: dict[str, Fingerprint] = field(default_factory=dict)
    excerpts: dict[tuple[int, str], str] = field(default_factory=dict)  # failed (run, module)
    run_times: dict[int, str] = field(default_factory=dict)


def derive(data: Gathered) -> Failures:
    found = Failures(fingerprints=dict(data.fingerprints))
    # Only the modules that failed somewhere have a history worth reading: a year of nightly
    # runs holds ~160,000 outcomes, of which most belong to modules that never failed.
    failing = {(run.release, run.sample, x[MODULE]) for run in data.runs
               for x in data.run_modules.get(run.id, ()) if x[OUTCOME] == "failed"}
    for run in reversed(data.runs):  # oldest first
        revisions = revisions_of(run.revisions)
        found.run_times[run.id] = run.started_at  # the night it tells of
        for x in data.run_modules.get(run.id, ()):
            if (run.release, run.sample, x[MODULE]) not in failing:
                continue
            key = x[FINGERPRINT]
            if x[OUTCOME] == "failed":
                found.excerpts[(run.id, x[MODULE])] = x[EXCERPT] or ""
                if key is None:  # a run stored before fingerprints: one from its excerpt
                    made = fingerprint_reason(x[MODULE], x[EXCERPT] or "")
                    key = made.key
                    found.fingerprints.setdefault(key, made)
            found.histories.setdefault((run.release, run.sample, x[MODULE]), []).append(
                Attempt(run.id, run.started_at, x[OUTCOME], revisions, key))
    for triple, attempts in found.histories.items():
        decided = classify(*triple, attempts)
        if decided is None:
            continue
        found.classes[triple] = decided
        for run_id, failure_class in classes_by_run(attempts).items():
            found.by_run[(run_id, triple[2])] = failure_class
    return found


# -- the Failures page ----------------------------------------------------------------------


@dataclass(frozen=True)
class ClassChip:
    """What became of a failure in one sample: the module's class there, and a note."""

    sample: str
    failure_class: str
    note: str
    href: str | None  # the run that tells it


@dataclass(frozen=True)
class SuspectCommit:
    revision: str
    href: str | None  # through [site] code_browser
    author: str
    date: str
    summary: str


@dataclass(frozen=True)
class SuspectBlock:
    sample: str
    branch: str
    since_run: int
    until_run: int
    since_href: str
    until_href: str
    commits: tuple[SuspectCommit, ...]
    total: int
    error: str
    unchanged: bool  # the branch was at the same revision in both runs


@dataclass(frozen=True)
class FailureRow:
    key: str  # the fingerprint
    anchor: str
    module: str
    module_href: str | None
    stage: str
    exception: str
    message: str  # normalised
    failure_class: str  # the most pressing of its chips
    chips: tuple[ClassChip, ...]
    first_seen: str
    last_seen: str
    first_href: str
    last_href: str
    runs: int
    samples: tuple[str, ...]
    excerpt: str  # its newest occurrence's
    suspects: tuple[SuspectBlock, ...]


@dataclass(frozen=True)
class FailuresPage:
    release: str
    previous: str
    rows: tuple[FailureRow, ...]
    counts: tuple[m.Count, ...]
    json_href: str
    feed_href: str


def failure_rows(config: Any, data: Gathered, found: Failures, release: str,
                 known: set[str]) -> tuple[FailureRow, ...]:
    """One row per fingerprint seen in the runs into ``release``: most pressing first."""
    by_key: dict[str, list[tuple[str, str, str, list[Attempt]]]] = defaultdict(list)
    for (rel, sample, module), attempts in found.histories.items():
        if rel != release:
            continue
        for key in dict.fromkeys(a.fingerprint for a in attempts if a.failed and a.fingerprint):
            by_key[key].append((rel, sample, module, attempts))
    order = {c: i for i, c in enumerate(FAILURE_CLASSES)}
    rows = []
    for key, histories in by_key.items():
        history = fingerprint_history(key, histories)
        if history is None:
            continue
        chips, blocks = [], []
        for sighting in history.sightings:
            decided = found.classes.get((release, sighting.sample, sighting.module))
            current = decided is not None and decided.last_failed.fingerprint == key
            if sighting.fixed_at is not None:
                chip = ClassChip(sighting.sample, FIXED, f"fixed in run {sighting.fixed_at.run_id}",
                                 f"runs/{sighting.fixed_at.run_id}.html")
            elif current and decided is not None:
                chip = ClassChip(sighting.sample, decided.failure_class,
                                 f"last failed in run {decided.last_failed.run_id}",
                                 f"runs/{decided.last_failed.run_id}.html")
            else:
                chip = ClassChip(sighting.sample, decided.failure_class if decided else NEW,
                                 "fails another way since", None)
            chips.append(chip)
            if current and decided is not None and decided.broke_at is not None:
                blocks.extend(_suspect_blocks(config, data, release, sighting.sample, decided))
        fingerprint = found.fingerprints.get(key) or Fingerprint(histories[0][2], "", "", "")
        module = fingerprint.module or histories[0][2]
        last = max(history.sightings, key=lambda s: s.last_run)
        first = min(history.sightings, key=lambda s: s.first_run)
        rows.append(FailureRow(
            key=key, anchor=f"f-{key}", module=module,
            module_href=f"modules/{m.slug(module)}.html" if module in known else None,
            stage=fingerprint.stage, exception=fingerprint.exception, message=fingerprint.message,
            failure_class=min((c.failure_class for c in chips), key=lambda c: order.get(c, 99)),
            chips=tuple(chips), first_seen=history.first_seen, last_seen=history.last_seen,
            first_href=f"runs/{first.first_run}.html", last_href=f"runs/{last.last_run}.html",
            runs=history.runs, samples=history.samples,
            excerpt=hide_paths(found.excerpts.get((last.last_run, last.module), "")),
            suspects=tuple(blocks),
        ))
    rows.sort(key=lambda r: r.module)
    rows.sort(key=lambda r: r.last_seen, reverse=True)  # stable: the newest first in a class
    rows.sort(key=lambda r: order.get(r.failure_class, 99))
    return tuple(rows)


def _suspect_blocks(config: Any, data: Gathered, release: str, sample: str,
                    decided: ModuleFailures) -> list[SuspectBlock]:
    assert decided.broke_at is not None and decided.last_passed is not None
    blocks = []
    for one in data.suspects.get((decided.broke_at.run_id, decided.module), ()):
        folder = one.folder or decided.module
        blocks.append(SuspectBlock(
            sample=sample, branch=one.branch, since_run=one.since_run_id, until_run=one.run_id,
            since_href=f"runs/{one.since_run_id}.html", until_href=f"runs/{one.run_id}.html",
            commits=tuple(SuspectCommit(
                revision=c.revision,
                href=m.code_link(config.site.code_browser, release, one.branch, folder,
                                 revision=c.revision),
                author=c.author, date=c.date, summary=c.summary) for c in one.commits),
            total=one.total, error=one.error or "", unchanged=one.since == one.until,
        ))
    return blocks


def failures_json(page: FailuresPage) -> dict[str, Any]:
    from ouhub.site.api import API_SCHEMA_VERSION

    return {
        "schema_version": API_SCHEMA_VERSION, "release": page.release, "previous": page.previous,
        "failures": [
            {
                "fingerprint": {"key": r.key, "module": r.module, "stage": r.stage,
                                "exception": r.exception, "message": r.message},
                "class": r.failure_class,
                "samples": [{"sample": c.sample, "class": c.failure_class, "note": c.note}
                            for c in r.chips],
                "first_seen": r.first_seen, "last_seen": r.last_seen, "runs": r.runs,
                "excerpt": r.excerpt,
                "suspects": [
                    {"sample": b.sample, "branch": b.branch, "since_run": b.since_run,
                     "until_run": b.until_run, "total": b.total, "error": b.error or None,
                     "commits": [{"revision": c.revision, "url": c.href, "author": c.author,
                                  "date": c.date, "summary": c.summary} for c in b.commits]}
                    for b in r.suspects
                ],
            }
            for r in page.rows
        ],
    }


# -- feeds ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class News:
    """One feed entry before it knows its feed: the release and module it is about."""

    release: str
    module: str
    entry: FeedEntry  # its link relative to the site's root


def news(config: Any, data: Gathered, found: Failures) -> list[News]:
    """Every feed entry of the site: coverage changes of the recent scans, and each time a
    module's class became new, regression or fixed."""
    out: list[News] = []
    for previous, release in data.steps:
        scans = data.recent_statuses.get(release, [])
        for (_, _, before), (scan_id, scanned_at, after) in zip(scans, scans[1:], strict=False):
            for change in status_changes(before, after):
                was, now = m.word(change.before or "absent"), m.word(change.after or "absent")
                out.append(News(release, change.module, FeedEntry(
                    key=f"coverage:{release}:{scan_id}:{change.module}",
                    title=f"{change.module}: {was} \u2192 {now} ({previous} \u2192 {release})",
                    updated=scanned_at,
                    summary=f"Coverage of {change.module} for the step {previous} \u2192 "
                            f"{release} changed from {was} to {now} in scan {scan_id}.",
                    link=f"releases/{m.slug(release)}.html#m-{m.slug(change.module)}",
                    category="coverage",
                )))
    for (release, sample, module), attempts in found.histories.items():
        if (release, sample, module) not in found.classes:
            continue
        before = None  # the class after the previous run that reached the module
        for attempt in attempts:
            now = found.by_run.get((attempt.run_id, module))
            if now is None:
                continue
            if now != before and now in FEED_NEWS:
                out.append(News(release, module, _class_entry(
                    data, found, release, sample, module, attempt, now)))
            before = now
    return out


def _class_entry(data: Gathered, found: Failures, release: str, sample: str, module: str,
                 attempt: Attempt, failure_class: str) -> FeedEntry:
    fingerprint = found.fingerprints.get(attempt.fingerprint or "")
    if failure_class == FIXED:
        title = f"{module} fixed in {sample} (into {release})"
        summary = f"{module} upgraded again in run {attempt.run_id} after failing."
    else:
        what = "regressed" if failure_class == REGRESSION else "failed for the first time"
        title = f"{module} {what} in {sample} (into {release})"
        summary = (f"Run {attempt.run_id}: {fingerprint.summary}" if fingerprint
                   else f"Run {attempt.run_id} failed.")
        if failure_class == REGRESSION:
            commits = [c for one in data.suspects.get((attempt.run_id, module), ())
                       for c in one.commits]
            if commits:
                summary += " Suspect commits: " + "; ".join(
                    f"{c.revision} {c.author}: {c.summary}" for c in commits[:10]) + "."
    return FeedEntry(
        key=f"class:{release}:{sample}:{module}:{attempt.run_id}:{failure_class}",
        title=title, updated=found.run_times.get(attempt.run_id, attempt.started_at),
        summary=summary, link=f"runs/{attempt.run_id}.html", category=failure_class,
    )


def feed(config: Any, key: str, title: str, path: str, entries: Sequence[News],
         alternate: str, newest: str, limit: int = FEED_ENTRIES) -> bytes:
    """A feed at ``path`` (relative to the site's root) of the newest ``entries``."""
    up = "../" * path.count("/")
    base = config.site.base_url.rstrip("/") + "/" if config.site.base_url else ""

    def href(target: str) -> str:
        return base + target if base else up + target

    chosen = sorted(entries, key=lambda n: (n.entry.updated, n.entry.key),
                    reverse=True)[:limit]
    items = [FeedEntry(n.entry.key, n.entry.title, n.entry.updated, n.entry.summary,
                       href(n.entry.link) if n.entry.link else None, n.entry.category)
             for n in chosen]
    return render_atom(Feed(
        key=key, title=title, updated=items[0].updated if items else newest, entries=items,
        self_link=href(path), alternate_link=href(alternate),
    ))


def plan_feeds(config: Any, data: Gathered, found: Failures, blob: Callable[..., None],
               modules: Iterable[str]) -> list[m.Link]:
    """Add every feed to the plan; returns the links the index page lists."""
    everything = news(config, data, found)
    newest = max([n.entry.updated for n in everything]
                 + [r.finished_at or r.started_at for r in data.runs]
                 + [at for at in data.scanned_at.values() if at], default=EPOCH)
    links = []
    by_release: dict[str, list[News]] = defaultdict(list)
    for item in everything:
        by_release[item.release].append(item)
    for previous, release in data.steps:
        path = f"feeds/{m.slug(release)}.xml"
        items = by_release.get(release, [])
        title = f"{data.title}: {previous} \u2192 {release}"
        blob(path, ("feed", title, items, newest), lambda p=path, t=title, i=items, r=release:
             feed(config, f"release:{r}", t, p, i, failures_href(r), newest))
        links.append(m.Link(f"{previous} \u2192 {release}", path))
    by_module: dict[str, list[News]] = defaultdict(list)
    for item in everything:
        by_module[item.module].append(item)
    sets = [(name,) for name in sorted(set(modules) | set(by_module))]
    configured = [tuple(s) for s in config.site.feeds]
    for modules_set in dict.fromkeys([*configured, *sets]):
        path = module_feed_href(modules_set)
        items = [n for name in modules_set for n in by_module.get(name, ())]
        title = f"{data.title}: {', '.join(modules_set)}"
        alternate = (f"modules/{m.slug(modules_set[0])}.html" if len(modules_set) == 1
                     else "index.html")
        limit = MODULE_FEED_ENTRIES if len(modules_set) == 1 else FEED_ENTRIES
        blob(path, ("feed", title, items, newest, limit),
             lambda p=path, t=title, i=items, s=modules_set, a=alternate, n=limit:
             feed(config, "modules:" + ",".join(s), t, p, i, a, newest, n))
        if modules_set in configured:
            links.append(m.Link(", ".join(modules_set), path))
    return links


# -- the plan ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReleaseFailures:
    """A release's line on the failures overview."""

    release: str
    previous: str
    href: str
    counts: tuple[m.Count, ...]


def plan_failures(config: Any, data: Gathered, found: Failures, page: Callable[..., None],
                  blob: Callable[..., None], known: set[str]) -> None:
    """The failures overview, each release's Failures page and its JSON."""
    from ouhub.site.api import json_bytes

    overview = []
    for previous, release in data.steps:
        rows = failure_rows(config, data, found, release, known)
        counts = m.counts_of((r.failure_class for r in rows), FAILURE_CLASSES)
        one = FailuresPage(
            release=release, previous=previous, rows=rows, counts=counts,
            json_href=f"api/{m.slug(release)}/failures.json",
            feed_href=f"feeds/{m.slug(release)}.xml",
        )
        page(failures_href(release), "failures.html", failures=one)
        blob(one.json_href, ("failures", one), lambda one=one: json_bytes(failures_json(one)))
        overview.append(ReleaseFailures(release, previous, failures_href(release), counts))
    page("failures.html", "failures_index.html", releases=tuple(overview),
         classes=FAILURE_CLASSES)
