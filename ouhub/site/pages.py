"""Every file of the site and what decides it: the page plan, and the records each page shows.

Derived values (links, counts, timelines, badges) are computed here, in Python, from
the gathered data; the templates only loop and read fields.
"""

from __future__ import annotations

import functools
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import jinja2

from ouhub.redact import hide_paths
from ouhub.site import failures
from ouhub.site import model as m
from ouhub.site.api import API_SCHEMA_VERSION, coverage_json, index_json, json_bytes, runs_json
from ouhub.site.gather import AFTER, BEFORE, EXCERPT, FINGERPRINT, MODULE, OUTCOME, Gathered
from ouhub.site.incremental import data_hash
from ouhub.site.work import (
    TODO_IN_PROGRESS,
    contributions_json,
    in_progress_modules,
    module_work,
    release_work,
)
from ouhub.versions import version_key
from ouhub.vocab import COVERAGE_STATUSES, OUTCOMES

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"
RECENT_RUNS = 60  # runs shown in a timeline on the runs page
MODULE_STRIP = 30  # a module's newest outcomes per sample, on its page
MODULE_RUNS = 10  # newest runs listed on a module page


@dataclass
class Output:
    """One file to produce: its path, the data that decides it and how to render it."""

    path: str
    key: Any  # hashed to decide whether the file must be rewritten
    render: Callable[[], bytes]
    lazy_key: bool = False  # key is a function giving it, called where the page is rendered


def _attr(record: Any, name: str, default: Any = None) -> Any:
    if isinstance(record, dict):
        return record.get(name, default)
    return getattr(record, name, default)


def _code_links(config: Any, release: str, paths: Iterable[str]) -> tuple[m.Link, ...]:
    """Each path (the repository's, led by its branch's name in a multi-branch release) as a
    link through its branch's code browser, else ``[site] code_browser``."""
    rel = config.releases.get(release)
    branches = {b.name: b for b in rel.branches} if rel else {}
    first = next(iter(branches.values()), None)
    links = []
    for path in paths:
        path = str(path)
        branch, rest = first, path
        head, _, tail = path.partition("/")
        if head in branches and tail:
            branch, rest = branches[head], tail
        pattern = (branch.code_browser if branch else None) or config.site.code_browser
        links.append(m.Link(path, m.code_link(pattern, release, branch.name if branch else "",
                                              rest)))
    return tuple(links)


_PARTS = (("fields", "fields"), ("models", "models"), ("records", "XML records"))


def _breakdown(counts: dict[str, int]) -> tuple[m.AnalysisPart, ...]:
    """The analysis's changes per part, and how many of them are open."""
    parts = []
    for table, what in _PARTS:
        changes = sum(n for k, n in counts.items() if k.startswith(table + "."))
        opened = sum(n for k, n in counts.items() if k.startswith(f"open.{table}."))
        if changes:
            parts.append(m.AnalysisPart(what, changes, changes - opened, opened))
    return tuple(parts)


def coverage_rows(config: Any, data: Gathered, release: str,
                  paged: frozenset[str] | None = None) -> tuple[m.CoverageRow, ...]:
    """The modules of a step; a rename's or merge's target is linked only when ``paged``
    (the modules with a page) holds it, else shown as text with why."""
    rows = []
    outcomes = data.outcomes.get(release, {})
    working = in_progress_modules(data.contributions, release)
    for cov in data.coverage.get(release, []):
        evidence = _attr(cov, "evidence")
        outcome = outcomes.get(cov.module)
        target = _attr(cov, "target")
        share = _attr(cov, "analysed_share")
        counts = _attr(cov, "analysis_counts") or {}
        source = _attr(cov, "analysis_source")
        linked = target is not None and (paged is None or target in paged)
        rows.append(m.CoverageRow(
            module=cov.module, href=f"modules/{m.slug(cov.module)}.html",
            anchor=f"m-{m.slug(cov.module)}",
            status=cov.status, word=m.word(cov.status), colour=m.colour(cov.status),
            target=target, target_href=f"modules/{m.slug(target)}.html" if linked else None,
            target_note="" if linked or not target else "not in OpenUpgrade's coverage",
            scripts=_code_links(config, release, _attr(evidence, "scripts", ()) or ()),
            declaration=str(_attr(evidence, "declaration", "") or ""),
            apriori=str(_attr(evidence, "apriori", "") or ""),
            analysis_size=_attr(cov, "analysis_size"),
            analysed_share=share, analysed_text=m.share_text(share),
            disagreements=tuple(str(d) for d in (_attr(cov, "disagreements", ()) or ())),
            last_outcome=outcome.outcome if outcome else None,
            last_outcome_href=f"runs/{outcome.run_id}.html" if outcome else None,
            in_progress=cov.module in working,
            open_changes=_attr(cov, "open_changes") if source else None,
            analysis=_code_links(config, release, (source,))[0] if source else None,
            analysis_lines=tuple(str(x) for x in _attr(evidence, "analysis", ()) or ()),
            breakdown=_breakdown(counts),
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
                    excerpt: str | None, linked: bool, failure_class: str | None = None,
                    fingerprint: str | None = None, release: str = "") -> m.RunModuleRow:
    return m.RunModuleRow(
        module=module, href=f"modules/{m.slug(module)}.html" if linked else None,
        outcome=outcome, word=m.word(outcome), colour=m.colour(outcome),
        version_before=before or "", version_after=after or "",
        excerpt=hide_paths(excerpt) if excerpt else "",
        failure_class=failure_class, fingerprint=fingerprint,
        failures_href=(f"{failures.failures_href(release)}#f-{fingerprint}"
                       if fingerprint and release else None),
    )


def _run_page(run: Any, modules: list[Any], known: set[str], prev_run: Any,
              next_run: Any, classes: dict[tuple[int, str], str] | None = None) -> m.RunPage:
    classes = classes or {}

    def row(x: Any) -> m.RunModuleRow:
        failed = x[OUTCOME] == "failed"
        return _run_module_row(x[MODULE], x[OUTCOME], x[BEFORE], x[AFTER], x[EXCERPT],
                               x[MODULE] in known, classes.get((run.id, x[MODULE])),
                               x[FINGERPRINT] if failed else None, run.release)

    return m.RunPage(
        run_id=run.id, release=run.release, previous=run.previous or "", sample=run.sample,
        status=run.status, word=m.word(run.status), colour=m.colour(run.status),
        started_at=run.started_at, finished_at=run.finished_at or "",
        duration=m.duration_text(run.duration), message=hide_paths(run.message or ""),
        revisions=tuple(sorted((str(k), str(v)) for k, v in (run.revisions or {}).items())),
        counts=m.counts_of((x[OUTCOME] for x in modules), OUTCOMES),
        failures=tuple(row(x) for x in modules if x[OUTCOME] == "failed"),
        attributed=tuple(row(x) for x in modules if x[OUTCOME] != "upgraded"),
        series_href=_series_href(run.release, run.sample),
        previous_href=f"runs/{prev_run.id}.html" if prev_run else None,
        next_href=f"runs/{next_run.id}.html" if next_run else None,
    )


def module_pages(
    config: Any, data: Gathered, rows: dict[str, tuple[m.CoverageRow, ...]],
    found: failures.Failures | None = None,
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
            target = by_step.get(release, {}).get(row.target) if row.target else None
            steps.append(m.ModuleStep(
                release=release, previous=previous,
                release_href=f"releases/{m.slug(release)}.html#{row.anchor}",
                followed=row.module != name, row=row,
                target_status=target.status if target else None,
                target_word=target.word if target else "",
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
                    **_module_class(found, release, sample, name),
                )
                for (release, sample), kept in sorted(recent.get(name, {}).items())
            ),
            runs=tuple(sorted(
                (r for kept in recent.get(name, {}).values() for r in kept[:MODULE_RUNS]),
                key=lambda r: -r.run_id,
            )[:MODULE_RUNS]),
            badge=f"badges/modules/{m.slug(name)}.svg",
            work=module_work(data.contributions, name),
            feed=failures.module_feed_href([name]),
        ))
    return pages


def _module_class(found: failures.Failures | None, release: str, sample: str,
                  module: str) -> dict[str, str | None]:
    decided = found.classes.get((release, sample, module)) if found else None
    if decided is None:
        return {}
    key = decided.last_failed.fingerprint
    return {"failure_class": decided.failure_class,
            "failures_href": f"{failures.failures_href(release)}#f-{key}" if key else None}


def plan(config: Any, data: Gathered, env: jinja2.Environment) -> list[Output]:
    """Every file of the site, with the data that decides it and its renderer."""
    title = data.title
    outputs: list[Output] = []
    templates: dict[str, jinja2.Template] = {}  # env.get_template costs ~25 us a page

    def page(path: str, template: str, key: Any = None,
             make: Callable[[], dict[str, Any]] | None = None, **context: Any) -> None:
        """A page from a template; with ``make``, its context is built only if ``key`` changed
        (a function giving the key, when even that is worth leaving to the workers)."""
        common = dict(title=title, root="../" * path.count("/"), page=path,
                      has_check=data.check_data is not None)
        tpl = templates.get(template)
        if tpl is None:
            tpl = templates[template] = env.get_template(template)

        def render() -> bytes:
            full = dict(common, **(make() if make else context))
            return tpl.render(**full).encode()

        if callable(key):
            outputs.append(Output(path, lambda: (template, common, key()), render, lazy_key=True))
        else:
            outputs.append(Output(path, (template, common, key if make else context), render))

    def blob(path: str, key: Any, render: Callable[[], bytes]) -> None:
        outputs.append(Output(path, key, render))

    # every module of a step's coverage gets a page (module_pages): only those are linked
    paged = frozenset(c.module for _, release in data.steps
                      for c in data.coverage.get(release, ()))
    rows = {release: coverage_rows(config, data, release, paged) for _, release in data.steps}
    known = {r.module for step_rows in rows.values() for r in step_rows}
    found = failures.derive(data)
    feeds = failures.plan_feeds(config, data, found, blob, known)
    failures.plan_failures(config, data, found, page, blob, known)
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

    page("index.html", "index.html", steps=tuple(steps), statuses=COVERAGE_STATUSES,
         feeds=tuple(feeds))
    blob("api/index.json", ("index", steps), lambda: json_bytes(index_json(steps)))

    for step in steps:
        release = step.release
        release_rows = rows[release]
        rows_digest = data_hash(release_rows)  # once for the page and its JSON
        work = release_work(data.contributions, release)

        def release_page(step: m.StepRow = step, release_rows: tuple = release_rows,
                         work: Any = work) -> dict[str, Any]:
            needs = tuple(sorted(
                (r for r in release_rows if r.status == "todo"),
                key=lambda r: (-(r.open_changes or 0), -(r.analysis_size or 0), r.module),
            ))
            return {"statuses": COVERAGE_STATUSES, "release": m.ReleasePage(
                release=step.release, previous=step.previous, counts=step.counts,
                share_text=step.share_text, scanned_at=step.scanned_at, modules=release_rows,
                needs_scripts=needs,
                plot=m.line_plot(data.history.get(step.release, []), width=480, height=90,
                                 what=f"coverage of {step.release}", axes=True),
                badge=step.badge, json_href=f"api/{m.slug(step.release)}/coverage.json",
                work=work if work.collected else None,
            ), "in_progress_chip": TODO_IN_PROGRESS}

        page(step.href, "release.html", key=(step, rows_digest, data.history.get(release), work),
             make=release_page)
        if work.collected and data.contributions is not None:
            blob(work.json_href, ("contributions", release, work, data.contributions.of(release),
                                  data.contributions.drift_of(release)),
                 lambda rel=release, report=data.contributions: json_bytes(
                     contributions_json(report, rel, API_SCHEMA_VERSION)))
        blob(f"api/{m.slug(release)}/coverage.json", ("coverage", step.previous, rows_digest),
             lambda rel=release, prev=step.previous, rr=release_rows: json_bytes(
                 coverage_json(rel, prev, rr)))
        badge_env = ("coverage " + release, step.share_text,
                     _badge_colour(step.share))
        page(step.badge, "badge.svg", label=badge_env[0], value=badge_env[1],
             fill=badge_env[2], **_badge_widths(badge_env[0], badge_env[1]))

    for mod in module_pages(config, data, rows, found):
        page(f"modules/{mod.slug}.html", "module.html", module=mod,
             in_progress_chip=TODO_IN_PROGRESS)
        last = mod.steps[-1] if mod.steps else None
        label, value = f"{mod.module} {last.release}" if last else mod.module, (
            last.row.word if last else "unknown")
        page(mod.badge, "badge.svg", label=label, value=value,
             fill=m.colour(last.row.status if last else None), **_badge_widths(label, value))

    series_digests = [data_hash(one) for one in series]  # once for their pages, runs.html and JSON
    page("runs.html", "runs.html", key=series_digests, make=lambda: {"series": tuple(
        replace(s, timeline=s.recent, runs=()) for s in series)})
    blob("api/runs.json", ("runs", series_digests), lambda: json_bytes(runs_json(series, data)))
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
                     run, [(*x, x[MODULE] in known, found.by_run.get((run.id, x[MODULE])))
                           for x in modules], older and older.id, newer and newer.id),
                 make=lambda run=run, modules=modules, older=older, newer=newer: {
                     "run": _run_page(run, modules, known, older, newer, found.by_run)})

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
        blob("api/check-data.json", ("check", check_data), lambda: json_bytes(check_data))
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

