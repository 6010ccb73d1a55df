"""`ouhub site build`: render the store into a static site (HTML, SVG, JSON), incrementally.

Three steps, as in coverage.py's html.py: gather every page's data from the store
into frozen records (``model.py``), render each page with a Jinja2 template that
only loops and reads fields (autoescape on, data never marked safe), and write only
what changed. A status file in the output holds a format number, a hash of
everything global (ouhub's version, the site config, the templates, the static
files) and a hash per page of its data: an unchanged rebuild rewrites nothing;
any doubt (no status file, another format, a global change) rebuilds everything.
"""

from __future__ import annotations

import functools
import gc
import hashlib
import itertools
import json
import multiprocessing
import operator
import os
import stat
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, NamedTuple

import jinja2

from ouhub import __version__
from ouhub.config import version_key
from ouhub.errors import SiteError
from ouhub.site import model as m

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"
STATUS_FILE = ".ouhub-site-status.json"
STATUS_FORMAT = 2
API_SCHEMA_VERSION = 1
RECENT_RUNS = 60  # runs shown in a timeline on the runs page
MODULE_STRIP = 30  # a module's newest outcomes per sample, on its page
MODULE_RUNS = 10  # newest runs listed on a module page
PARALLEL_FROM = 500  # files from which the pages are rendered in one process per CPU


@dataclass(frozen=True)
class BuildReport:
    out: Path
    index: Path
    pages: int  # every file of the site
    written: int
    unchanged: int
    removed: int
    bytes_written: int
    bytes_total: int
    check_page: bool

    def as_dict(self) -> dict[str, Any]:
        return {
            "out": str(self.out), "index": str(self.index), "pages": self.pages,
            "written": self.written, "unchanged": self.unchanged, "removed": self.removed,
            "bytes_written": self.bytes_written, "bytes_total": self.bytes_total,
            "check_page": self.check_page,
        }


@dataclass
class Output:
    """One file to produce: its path, the data that decides it and how to render it."""

    path: str
    key: Any  # hashed to decide whether the file must be rewritten
    render: Callable[[], bytes]
    lazy_key: bool = False  # key is a function giving it, called where the page is rendered


# -- gathering ----------------------------------------------------------------------------------


@dataclass
class Gathered:
    """Everything the site shows, read from the store once."""

    title: str
    steps: list[tuple[str, str]]
    coverage: dict[str, list[Any]] = field(default_factory=dict)  # release -> ModuleCoverage
    history: dict[str, list[tuple[str, float]]] = field(default_factory=dict)
    scanned_at: dict[str, str] = field(default_factory=dict)
    outcomes: dict[str, dict[str, Any]] = field(default_factory=dict)  # release -> module -> o
    runs: list[Any] = field(default_factory=list)  # sample runs, newest first
    run_modules: dict[int, list[RunOutcome]] = field(default_factory=dict)  # by run id
    sync: dict[str, tuple[str, bool | None]] = field(default_factory=dict)  # release -> (at, ok)
    upstream: list[m.UpstreamBranch] = field(default_factory=list)
    check_data: dict[str, Any] | None = None


# A module's outcome in one run: a row of store.site_run_modules kept as the store gives it,
# (run_id, module, outcome, version_before, version_after, excerpt). Plain tuples: a year of
# nightly runs is ~160,000 of them, and making even a NamedTuple of each costs 10 times more.
RunOutcome = tuple[int, str, str, str | None, str | None, str | None]
MODULE, OUTCOME, BEFORE, AFTER, EXCERPT = 1, 2, 3, 4, 5  # a RunOutcome's fields


class LastOutcome(NamedTuple):
    outcome: str
    run_id: int


def _attr(record: Any, name: str, default: Any = None) -> Any:
    if isinstance(record, dict):
        return record.get(name, default)
    return getattr(record, name, default)


def gather(config: Any, store: Any) -> Gathered:
    """Read what the pages need; the only place that talks to the store."""
    data = Gathered(title=config.site.title, steps=list(config.steps))
    for _previous, release in data.steps:
        rows = sorted(store.latest_coverage(release), key=lambda c: c.module)
        data.coverage[release] = rows
        data.history[release] = _history(store.coverage_history(release))
        data.scanned_at[release] = data.history[release][-1][0] if data.history[release] else ""
    data.runs = [
        r for r in store.runs(kind="run") if r.status != "running" and r.sample is not None
    ]
    by_id = {r.id: r for r in data.runs}
    run_modules = data.run_modules
    # Rows come by run: one list per run, ~160,000 rows in a year of nightly runs.
    for run_id, rows in itertools.groupby(store.site_run_modules(), key=operator.itemgetter(0)):
        if run_id in by_id:
            run_modules[run_id] = list(rows)
    # The newest finished run of each module per release (as store.last_run_outcomes).
    for run in data.runs:  # newest first: the first seen wins
        outcomes = data.outcomes.setdefault(run.release, {})
        for x in run_modules.get(run.id, ()):
            if x[MODULE] not in outcomes:
                outcomes[x[MODULE]] = LastOutcome(x[OUTCOME], run.id)
    data.sync = _sync(store, config)
    data.upstream = _upstream(store, config)
    data.check_data = _check_data(config, store)
    return data


def _history(scans: Iterable[Any]) -> list[tuple[str, float]]:
    """(scan time, share done or nothing_to_do) per stored scan, oldest first."""
    out = []
    for scan in scans:
        total = sum(scan.totals.values())
        if total:
            good = scan.totals.get("done", 0) + scan.totals.get("nothing_to_do", 0)
            out.append((scan.scanned_at, good / total))
    return out


def _sync(store: Any, config: Any) -> dict[str, tuple[str, bool | None]]:
    """Per release: the oldest of its branches' last successful syncs, and whether all are ok."""
    out: dict[str, tuple[str, bool | None]] = {}
    for state in store.sync_states():
        last = state.last_success or ""
        at, all_ok = out.get(state.release, (None, True))
        out[state.release] = (last if at is None else min(at, last), bool(all_ok and state.ok))
    return out


def _upstream(store: Any, config: Any) -> list[m.UpstreamBranch]:
    """Each branch's last lag check and its unmerged upstream revisions (newest first)."""
    branches = []
    for lag in store.upstream_lags():
        revisions = tuple(
            m.Revision(
                revision=str(rev.revno or rev.revid), author=rev.author, date=rev.date,
                message=rev.message,
                modules=tuple(m.Link(name, f"modules/{m.slug(name)}.html") for name in rev.modules),
            )
            for rev in reversed(lag.unmerged)
        )
        upstream = lag.upstream_url or ""
        branches.append(m.UpstreamBranch(
            release=lag.release, branch=lag.branch,
            upstream=m.Link(upstream, m.safe_href(upstream)),
            lag=None if lag.error and not lag.last_success else lag.count,
            checked_at=lag.checked_at or "", error=lag.error or "", revisions=revisions,
        ))
    return branches


def _check_data(config: Any, store: Any) -> dict[str, Any] | None:
    """The check page's data, from the check stage's own builder."""
    from ouhub.check.data import build_check_data

    return build_check_data(config, store)


# -- deriving the pages' records ------------------------------------------------------------------


def _evidence_links(config: Any, release: str, scripts: Iterable[str]) -> tuple[m.Link, ...]:
    rel = config.releases.get(release)
    branches = [b.name for b in rel.branches] if rel else []
    links = []
    for path in scripts:
        path = str(path)
        branch, rest = (branches[0] if branches else ""), path
        head, _, tail = path.partition("/")
        if head in branches and tail:
            branch, rest = head, tail
        links.append(m.Link(path, m.code_link(config.site.code_browser, release, branch, rest)))
    return tuple(links)


def module_rows(config: Any, data: Gathered, release: str) -> tuple[m.ModuleRow, ...]:
    rows = []
    outcomes = data.outcomes.get(release, {})
    for cov in data.coverage.get(release, []):
        evidence = _attr(cov, "evidence")
        outcome = outcomes.get(cov.module)
        target = _attr(cov, "target")
        share = _attr(cov, "analysed_share")
        rows.append(m.ModuleRow(
            module=cov.module, href=f"modules/{m.slug(cov.module)}.html",
            anchor=f"m-{m.slug(cov.module)}",
            status=cov.status, word=m.word(cov.status), colour=m.colour(cov.status),
            target=target, target_href=f"modules/{m.slug(target)}.html" if target else None,
            scripts=_evidence_links(config, release, _attr(evidence, "scripts", ()) or ()),
            declaration=str(_attr(evidence, "declaration", "") or ""),
            apriori=str(_attr(evidence, "apriori", "") or ""),
            analysis_size=_attr(cov, "analysis_size"),
            analysed_share=share, analysed_text=m.share_text(share),
            disagreements=tuple(str(d) for d in (_attr(cov, "disagreements", ()) or ())),
            last_outcome=outcome.outcome if outcome else None,
            last_outcome_href=f"runs/{outcome.run_id}.html" if outcome else None,
        ))
    return tuple(rows)


def _summary(run: Any, modules: list[Any]) -> m.RunSummary:
    return m.RunSummary(
        run_id=run.id, href=f"runs/{run.id}.html", status=run.status, word=m.word(run.status),
        colour=m.colour(run.status), finished_at=run.finished_at or run.started_at,
        duration=m.duration_text(run.duration),
        failed=tuple(x[MODULE] for x in modules if x[OUTCOME] == "failed"),
    )


def _series_href(release: str, sample: str) -> str:
    return f"runs/series-{m.slug(release)}-{m.slug(sample)}.html"


def series_list(data: Gathered) -> list[m.Series]:
    grouped: dict[tuple[str, str], list[Any]] = defaultdict(list)
    for run in data.runs:
        grouped[(run.release, run.sample)].append(run)
    out = []
    for (release, sample), runs in sorted(grouped.items(), key=lambda kv: (
            version_key(kv[0][0]), kv[0][1])):
        summaries = tuple(_summary(r, data.run_modules.get(r.id, [])) for r in runs)
        what = f"{sample} into {release}"
        out.append(m.Series(
            release=release, previous=runs[0].previous or "", sample=sample,
            href=_series_href(release, sample),
            timeline=m.timeline(summaries, "../", what=what),
            recent=m.timeline(summaries[:RECENT_RUNS], "", width=360, what=what),
            runs=summaries, last=summaries[0] if summaries else None,
            passed=sum(1 for s in summaries if s.status == "passed"), total=len(summaries),
        ))
    return out


@functools.lru_cache(maxsize=8192)  # the same modules fail alike night after night
def _run_module_row(module: str, outcome: str, before: str | None, after: str | None,
                    excerpt: str | None, linked: bool) -> m.RunModuleRow:
    return m.RunModuleRow(
        module=module, href=f"modules/{m.slug(module)}.html" if linked else None,
        outcome=outcome, word=m.word(outcome), colour=m.colour(outcome),
        version_before=before or "", version_after=after or "", excerpt=excerpt or "",
    )


def _run_page(run: Any, modules: list[Any], known: set[str], prev_run: Any,
              next_run: Any) -> m.RunPage:
    def row(x: Any) -> m.RunModuleRow:
        return _run_module_row(x[MODULE], x[OUTCOME], x[BEFORE], x[AFTER], x[EXCERPT],
                               x[MODULE] in known)

    return m.RunPage(
        run_id=run.id, release=run.release, previous=run.previous or "", sample=run.sample,
        status=run.status, word=m.word(run.status), colour=m.colour(run.status),
        started_at=run.started_at, finished_at=run.finished_at or "",
        duration=m.duration_text(run.duration), message=run.message or "",
        revisions=tuple(sorted((str(k), str(v)) for k, v in (run.revisions or {}).items())),
        counts=m.counts_of((x[OUTCOME] for x in modules), m.OUTCOMES),
        failures=tuple(row(x) for x in modules if x[OUTCOME] == "failed"),
        attributed=tuple(row(x) for x in modules if x[OUTCOME] != "upgraded"),
        series_href=_series_href(run.release, run.sample),
        previous_href=f"runs/{prev_run.id}.html" if prev_run else None,
        next_href=f"runs/{next_run.id}.html" if next_run else None,
    )


def module_pages(
    config: Any, data: Gathered, rows: dict[str, tuple[m.ModuleRow, ...]]
) -> list[m.ModulePage]:
    by_step = {release: {r.module: r for r in step_rows} for release, step_rows in rows.items()}
    names = sorted({name for step in by_step.values() for name in step})
    renamed_from: dict[str, list[str]] = defaultdict(list)
    for step in by_step.values():
        for r in step.values():
            if r.target and r.status in ("renamed", "merged") and r.module not in renamed_from[
                    r.target]:
                renamed_from[r.target].append(r.module)
    # Per module and (release, sample): outcome counts and the newest runs, for the strips.
    tally: Counter[tuple[str, tuple[str, str], str]] = Counter()  # (module, key, outcome)
    by_series: dict[tuple[str, str], list[Any]] = defaultdict(list)
    for run in data.runs:  # newest first
        key = (run.release, run.sample)
        by_series[key].append(run)
        tally.update([(x[MODULE], key, x[OUTCOME]) for x in data.run_modules.get(run.id, ())])
    tallies: dict[str, dict[tuple[str, str], dict[str, int]]] = defaultdict(dict)
    for (name, key, outcome), count in tally.items():
        tallies[name].setdefault(key, {})[outcome] = count
    recent: dict[str, dict[tuple[str, str], list[m.ModuleRun]]] = defaultdict(dict)
    for key, runs in by_series.items():
        # Each module's newest runs in the series: stop once every module has its strip.
        unfilled = sum(1 for name in tallies if key in tallies[name])
        for run in runs:  # newest first
            if not unfilled:
                break
            for x in data.run_modules.get(run.id, ()):
                kept = recent[x[MODULE]].setdefault(key, [])
                if len(kept) >= MODULE_STRIP:
                    continue
                if len(kept) == MODULE_STRIP - 1:
                    unfilled -= 1
                kept.append(m.ModuleRun(
                    run_id=run.id, href=f"runs/{run.id}.html", release=run.release,
                    sample=run.sample, finished_at=run.finished_at or run.started_at,
                    outcome=x[OUTCOME], word=m.word(x[OUTCOME]), colour=m.colour(x[OUTCOME]),
                ))
    pages = []
    for name in names:
        steps = []
        current = name
        for previous, release in data.steps:
            row = by_step.get(release, {}).get(current)
            if row is None and current != name:
                row = by_step.get(release, {}).get(name)
                if row is not None:
                    current = name
            if row is None:
                continue
            steps.append(m.ModuleStep(
                release=release, previous=previous,
                release_href=f"releases/{m.slug(release)}.html#{row.anchor}",
                name=row.module, name_href=row.href, followed=row.module != name,
                status=row.status, word=row.word, colour=row.colour, target=row.target,
                target_href=row.target_href, analysis_size=row.analysis_size,
                analysed_text=row.analysed_text, scripts=row.scripts,
            ))
            if row.status in ("renamed", "merged") and row.target:
                current = row.target
        pages.append(m.ModulePage(
            module=name, slug=m.slug(name), steps=tuple(steps),
            renamed_from=tuple(
                m.Link(old, f"modules/{m.slug(old)}.html") for old in sorted(renamed_from[name])
            ),
            series=tuple(
                m.ModuleSeries(
                    release=release, sample=sample, href=_series_href(release, sample),
                    counts=tuple(
                        m.Count(o, m.word(o), n, m.colour(o))
                        for o, n in sorted(tallies[name][(release, sample)].items())
                    ),
                    strip=m.timeline(kept, None, width=180, height=14,
                                     what=f"{name} in {sample} into {release}"),
                )
                for (release, sample), kept in sorted(recent.get(name, {}).items())
            ),
            runs=tuple(sorted(
                (r for kept in recent.get(name, {}).values() for r in kept[:MODULE_RUNS]),
                key=lambda r: -r.run_id,
            )[:MODULE_RUNS]),
            badge=f"badges/modules/{m.slug(name)}.svg",
        ))
    return pages


# -- JSON documents -----------------------------------------------------------------------------


def _json(data: Any) -> bytes:
    # No indent: only then does json use its C encoder (6 MB of JSON in the bench, 10x faster).
    return (json.dumps(data, sort_keys=True, ensure_ascii=False) + "\n").encode()


def index_json(steps: list[m.StepRow]) -> dict[str, Any]:
    return {
        "schema_version": API_SCHEMA_VERSION,
        "steps": [
            {
                "release": s.release, "previous": s.previous,
                "counts": {c.status: c.count for c in s.counts}, "total": s.total,
                "share": s.share, "scanned_at": s.scanned_at or None,
                "last_sync": s.last_sync or None, "upstream_lag": s.lag,
                "nightly": [
                    {"sample": n.sample, "status": n.status, "finished_at": n.finished_at,
                     "run_id": int(n.href.split("/")[1].split(".")[0]) if n.href else None}
                    for n in s.nightly
                ],
            }
            for s in steps
        ],
    }


def coverage_json(release: str, previous: str, rows: tuple[m.ModuleRow, ...]) -> dict[str, Any]:
    return {
        "schema_version": API_SCHEMA_VERSION, "release": release, "previous": previous,
        "modules": [
            {
                "module": r.module, "status": r.status, "target": r.target,
                "evidence": {"scripts": [s.text for s in r.scripts],
                             "declaration": r.declaration or None, "apriori": r.apriori or None},
                "analysis_size": r.analysis_size, "analysed_share": r.analysed_share,
                "disagreements": list(r.disagreements), "last_outcome": r.last_outcome,
            }
            for r in rows
        ],
    }


def runs_json(series: list[m.Series], data: Gathered) -> dict[str, Any]:
    by_id = {r.id: r for r in data.runs}
    return {
        "schema_version": API_SCHEMA_VERSION,
        "runs": [
            {
                "id": s.run_id, "release": by_id[s.run_id].release,
                "previous": by_id[s.run_id].previous, "sample": by_id[s.run_id].sample,
                "status": s.status, "started_at": by_id[s.run_id].started_at,
                "finished_at": by_id[s.run_id].finished_at,
                "duration": by_id[s.run_id].duration, "failed_modules": list(s.failed),
            }
            for one in series for s in one.runs
        ],
    }


# -- rendering ----------------------------------------------------------------------------------


def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=jinja2.select_autoescape(
            enabled_extensions=("html", "xml", "svg"), default_for_string=True, default=True,
        ),
        undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
        keep_trailing_newline=True,
        # Templates do not change during a build: no stat of each template at every render.
        auto_reload=False,
    )
    env.globals.update(word=m.word, look=m.look, date_text=m.date_text, share_text=m.share_text)
    snippets = env.get_template("snippets.html").module
    env.globals["status"] = functools.lru_cache(maxsize=64)(snippets.status)
    env.globals["when"] = functools.lru_cache(maxsize=16384)(snippets.when)
    # The macros' template is made after the globals it uses; a row is rendered once per build.
    env.globals["run_row"] = functools.lru_cache(maxsize=8192)(
        env.get_template("macros.html").module.run_row)
    return env


def _globals_hash(config: Any) -> str:
    digest = hashlib.sha256()
    digest.update(f"{STATUS_FORMAT} {__version__} {API_SCHEMA_VERSION}".encode())
    # The releases, not only the steps: branch names decide the evidence links, names the
    # check page's choices.
    digest.update(repr((config.site.title, config.site.code_browser, config.site.base_url,
                        list(config.steps), config.releases)).encode())
    for base in (TEMPLATES, STATIC):
        for path in sorted(base.rglob("*")):
            if path.is_file():
                digest.update(str(path.relative_to(base)).encode())
                digest.update(path.read_bytes())
    # The code that turns data into pages: a new ouhub renders everything anew.
    for module in (__file__, m.__file__):
        digest.update(Path(module).read_bytes())
    return digest.hexdigest()


def _hash(key: Any) -> str:
    return hashlib.sha256(repr(key).encode("utf-8", "surrogatepass")).hexdigest()


def plan(config: Any, data: Gathered) -> list[Output]:
    """Every file of the site, with the data that decides it and its renderer."""
    env = environment()
    title = data.title
    outputs: list[Output] = []

    def page(path: str, template: str, key: Any = None,
             make: Callable[[], dict[str, Any]] | None = None, **context: Any) -> None:
        """A page from a template; with ``make``, its context is built only if ``key`` changed
        (a function giving the key, when even that is worth leaving to the workers)."""
        common = dict(title=title, root="../" * path.count("/"), page=path,
                      has_check=data.check_data is not None)
        tpl = env.get_template(template)

        def render() -> bytes:
            full = dict(common, **(make() if make else context))
            return tpl.render(**full).encode()

        if callable(key):
            outputs.append(Output(path, lambda: (template, common, key()), render, lazy_key=True))
        else:
            outputs.append(Output(path, (template, common, key if make else context), render))

    def blob(path: str, key: Any, render: Callable[[], bytes]) -> None:
        outputs.append(Output(path, key, render))

    rows = {release: module_rows(config, data, release) for _, release in data.steps}
    series = series_list(data)
    last_by_sample: dict[str, list[m.SampleResult]] = defaultdict(list)
    for one in series:
        if one.last:
            last_by_sample[one.release].append(m.SampleResult(
                sample=one.sample, status=one.last.status, colour=one.last.colour,
                finished_at=one.last.finished_at, href=one.last.href,
            ))
    lags: dict[str, int] = {}
    for branch in data.upstream:
        if branch.lag is not None:
            lags[branch.release] = lags.get(branch.release, 0) + int(branch.lag)

    steps = []
    for previous, release in data.steps:
        counts = m.counts_of(r.status for r in rows[release])
        share = m.coverage_share(counts)
        sync_at, sync_ok = data.sync.get(release, ("", None))
        steps.append(m.StepRow(
            release=release, previous=previous, href=f"releases/{m.slug(release)}.html",
            badge=f"badges/{m.slug(release)}.svg", counts=counts,
            total=sum(c.count for c in counts), share=share, share_text=m.share_text(share),
            plot=m.line_plot(data.history.get(release, []), what=f"coverage of {release}"),
            scanned_at=data.scanned_at.get(release, ""), last_sync=sync_at, sync_ok=sync_ok,
            lag=lags.get(release), nightly=tuple(last_by_sample.get(release, ())),
        ))

    page("index.html", "index.html", steps=tuple(steps), statuses=m.STATUSES)
    blob("api/index.json", ("index", steps), lambda: _json(index_json(steps)))

    for step in steps:
        release = step.release
        release_rows = rows[release]
        rows_digest = _hash(release_rows)  # once for the page and its JSON

        def release_page(step: m.StepRow = step, release_rows: tuple = release_rows,
                         ) -> dict[str, Any]:
            needs = tuple(sorted(
                (r for r in release_rows if r.status == "todo"),
                key=lambda r: (-(r.analysis_size or 0), r.module),
            ))
            return {"statuses": m.STATUSES, "release": m.ReleasePage(
                release=step.release, previous=step.previous, counts=step.counts,
                share_text=step.share_text, scanned_at=step.scanned_at, modules=release_rows,
                needs_scripts=needs,
                plot=m.line_plot(data.history.get(step.release, []), width=480, height=90,
                                 what=f"coverage of {step.release}", axes=True),
                badge=step.badge, json_href=f"api/{m.slug(step.release)}/coverage.json",
            )}

        page(step.href, "release.html", key=(step, rows_digest, data.history.get(release)),
             make=release_page)
        blob(f"api/{m.slug(release)}/coverage.json", ("coverage", step.previous, rows_digest),
             lambda rel=release, prev=step.previous, rr=release_rows: _json(
                 coverage_json(rel, prev, rr)))
        badge_env = ("coverage " + release, step.share_text,
                     _badge_colour(step.share))
        page(step.badge, "badge.svg", label=badge_env[0], value=badge_env[1],
             fill=badge_env[2], **_badge_widths(badge_env[0], badge_env[1]))

    for mod in module_pages(config, data, rows):
        page(f"modules/{mod.slug}.html", "module.html", module=mod)
        last = mod.steps[-1] if mod.steps else None
        label, value = f"{mod.module} {last.release}" if last else mod.module, (
            last.word if last else "unknown")
        page(mod.badge, "badge.svg", label=label, value=value,
             fill=m.colour(last.status if last else None), **_badge_widths(label, value))

    known = {r.module for step_rows in rows.values() for r in step_rows}
    series_digests = [_hash(one) for one in series]  # once for their pages, runs.html and JSON
    page("runs.html", "runs.html", key=series_digests, make=lambda: {"series": tuple(
        replace(s, timeline=s.recent, runs=()) for s in series)})
    blob("api/runs.json", ("runs", series_digests), lambda: _json(runs_json(series, data)))
    runs_by_id = {r.id: r for r in data.runs}
    for one, digest in zip(series, series_digests, strict=True):
        page(one.href, "series.html", key=digest, make=lambda one=one: {"series": one})
        ids = [s.run_id for s in one.runs]  # newest first
        for i, run_id in enumerate(ids):
            run = runs_by_id[run_id]
            older = runs_by_id[ids[i + 1]] if i + 1 < len(ids) else None
            newer = runs_by_id[ids[i - 1]] if i > 0 else None
            modules = data.run_modules.get(run_id, [])
            page(f"runs/{run_id}.html", "run.html",
                 key=lambda run=run, modules=modules, older=older, newer=newer: (
                     run, [(*x, x[MODULE] in known) for x in modules], older and older.id,
                     newer and newer.id),
                 make=lambda run=run, modules=modules, older=older, newer=newer: {
                     "run": _run_page(run, modules, known, older, newer)})

    upstream = tuple(
        replace(b, revisions=tuple(
            replace(r, modules=tuple(
                link if link.text in known else m.Link(link.text) for link in r.modules))
            for r in b.revisions))
        for b in data.upstream
    )
    page("upstream.html", "upstream.html", branches=upstream)

    if data.check_data is not None:
        from ouhub.check.data import check_data_js

        check_data = data.check_data
        blob("api/check-data.json", ("check", check_data), lambda: _json(check_data))
        blob("api/check-data.js", ("check-js", check_data),
             lambda: check_data_js(check_data).encode())
        page("check.html", "check.html", releases=tuple(
            r.name for r in config.releases.values()))

    for path in sorted(STATIC.rglob("*")):
        if path.is_file():
            rel = "static/" + path.relative_to(STATIC).as_posix()
            blob(rel, ("static", rel), lambda p=path: p.read_bytes())
    return outputs


def _badge_colour(share: float | None) -> str:
    if share is None:
        return m.colour(None)
    return m.colour("done" if share >= 0.9 else "partial" if share >= 0.5 else "todo")


def _badge_widths(label: str, value: str) -> dict[str, int]:
    left = 10 + 7 * len(label)
    right = 10 + 7 * len(value)
    return {"left": left, "right": right, "width": left + right}


# -- writing ------------------------------------------------------------------------------------


def _read_status(out: Path, globals_hash: str) -> tuple[dict[str, str], str | None]:
    """The page hashes and store key of the previous build, or ({}, None) when anything
    about it is in doubt."""
    try:
        status = json.loads((out / STATUS_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}, None
    if not isinstance(status, dict) or status.get("format") != STATUS_FORMAT:
        return {}, None
    if status.get("globals") != globals_hash or not isinstance(status.get("pages"), dict):
        return {}, None
    store = status.get("store")
    return {str(k): str(v) for k, v in status["pages"].items()}, (
        store if isinstance(store, str) else None)


def _unchanged(out: Path, pages: dict[str, str]) -> tuple[int, int] | None:
    """(files, bytes) when every page of the previous build is still there, else None."""
    total = 0
    for path in pages:
        try:
            total += os.stat(out / path).st_size
        except OSError:
            return None
    return len(pages), total


def _write(path: Path, content: bytes) -> None:
    """Write through a temporary file renamed into place: a reader never sees half a page."""
    tmp = path.with_name(f".{path.name}.ouhub-tmp")
    try:
        tmp.write_bytes(content)
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_bytes(content)
    try:
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


# A page's outcome: (path, hash of its data, rewritten?, size in bytes).
Done = tuple[str, str, bool, int]

# Set just before forking the workers, which inherit it: the outputs' renderers are closures
# over the gathered data, never pickled.
_JOB: tuple[list[Output], dict[str, str], Path, int] | None = None


def _produce_share(share: int) -> list[Done]:
    """Hash, and render and write when changed, every ``workers``-th output from ``share``."""
    assert _JOB is not None
    outputs, previous, out, workers = _JOB
    done = []
    for output in outputs[share::workers]:
        digest = _hash(output.key() if output.lazy_key else output.key)
        target = out / output.path
        if previous.get(output.path) == digest:
            try:
                found = os.stat(target)
            except FileNotFoundError:
                pass
            else:
                if stat.S_ISREG(found.st_mode):
                    done.append((output.path, digest, False, found.st_size))
                    continue
        content = output.render()
        _write(target, content)
        done.append((output.path, digest, True, len(content)))
    return done


def _produce(outputs: list[Output], previous: dict[str, str], out: Path,
             workers: int) -> list[Done]:
    """Every output's outcome, from ``workers`` forked processes sharing them in turn (run
    pages, the bulk, come in a row: each worker takes every ``workers``-th)."""
    global _JOB
    _JOB = (outputs, previous, out, workers)
    try:
        if workers == 1:
            return _produce_share(0)
        # Fork: the workers inherit the gathered data and the compiled templates. Frozen out
        # of the garbage collector's sight first: its passes would touch, hence copy, every
        # page of the parent's memory in each worker.
        gc.freeze()
        try:
            with multiprocessing.get_context("fork").Pool(workers) as pool:
                shares = pool.map(_produce_share, range(workers), chunksize=1)
        finally:
            gc.unfreeze()
        return [one for share in shares for one in share]
    finally:
        _JOB = None


def build_site(config: Any, store: Any, out: Path | None = None,
               workers: int | None = None) -> BuildReport:
    """Render the store into ``out`` (default: ``[site] output``), rewriting only what changed.

    ``workers`` processes render and write the pages (default: one per CPU for a site of
    ``PARALLEL_FROM`` files or more, else 1); the files are the same whatever their number.
    """
    out = Path(out or config.site.output).resolve()
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SiteError(f"cannot create the site directory {out}: {exc}",
                        hint="pass --out DIR or fix [site] output in the config") from exc
    globals_hash = _globals_hash(config)
    previous, previous_store = _read_status(out, globals_hash)
    store_hash = _hash(store.site_key())
    # Nothing in the store, the config or ouhub changed since the last build, and its files
    # are all there: the site is up to date without reading a page's data.
    if previous and previous_store == store_hash:
        found = _unchanged(out, previous)
        if found is not None:
            return BuildReport(
                out=out, index=out / "index.html", pages=found[0], written=0,
                unchanged=found[0], removed=0, bytes_written=0, bytes_total=found[1],
                check_page="check.html" in previous,
            )
    data = gather(config, store)
    outputs = plan(config, data)
    if workers is None:
        workers = (os.cpu_count() or 1) if len(outputs) >= PARALLEL_FROM else 1
    try:
        done = _produce(outputs, previous, out, max(1, min(workers, len(outputs))))
        hashes: dict[str, str] = {}
        written = unchanged = bytes_written = bytes_total = 0
        for path, digest, wrote, size in done:
            hashes[path] = digest
            bytes_total += size
            if wrote:
                written += 1
                bytes_written += size
            else:
                unchanged += 1
        removed = 0
        for stale in sorted(set(previous) - set(hashes)):
            path = (out / stale).resolve()
            if path.is_relative_to(out) and path.is_file():
                path.unlink()
                removed += 1
        status = {"format": STATUS_FORMAT, "globals": globals_hash, "store": store_hash,
                  "pages": hashes}
        status_bytes = json.dumps(status, sort_keys=True, indent=0).encode()
        status_path = out / STATUS_FILE
        if not status_path.is_file() or status_path.read_bytes() != status_bytes:
            _write(status_path, status_bytes)
    except OSError as exc:
        raise SiteError(f"cannot write the site in {out}: {exc}",
                        hint="check the disk space and the permissions of the output directory"
                        ) from exc
    return BuildReport(
        out=out, index=out / "index.html", pages=len(outputs), written=written,
        unchanged=unchanged, removed=removed, bytes_written=bytes_written,
        bytes_total=bytes_total, check_page=data.check_data is not None,
    )
