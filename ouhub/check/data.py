"""The check data: per step and module, coverage status, evidence, last run outcome and the
open work writing its scripts.

Built from the store (``build_check_data``), cached in the data dir
(``cached_check_data``), published by the site as ``api/check-data.json`` and
``api/check-data.js``, and read back from such a file (``load_check_data``).
"""

from __future__ import annotations

import marshal
from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from ouhub.errors import CheckError
from ouhub.redact import hide_paths

SCHEMA_VERSION = 1


def load_check_data(text: str, source: str) -> dict[str, Any]:
    """A check-data document read from a file (e.g. the site's api/check-data.json)."""
    import json

    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CheckError(
            f"{source}: not JSON: {exc}", hint="pass the site's api/check-data.json"
        ) from exc
    if not isinstance(data, dict) or data.get("schema_version") != SCHEMA_VERSION:
        raise CheckError(
            f"{source}: not check data of schema version {SCHEMA_VERSION}",
            hint="pass the api/check-data.json of a site built by this ouhub version",
        )
    problem = shape_problem(data)
    if problem:
        raise CheckError(f"{source}: {problem}",
                         hint="pass the api/check-data.json of a site built by ouhub, unedited")
    return data


def shape_problem(data: Mapping[str, Any]) -> str | None:
    """The first place where a check-data document is not of the documented shape, or None."""

    def wrong(where: str, value: Any, what: str) -> str:
        return f"{where}: expected {what}, got {type(value).__name__} {str(value)[:40]!r}"

    def texts(where: str, value: Any) -> str | None:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            return wrong(where, value, "a list of strings")
        return None

    releases = data.get("releases", [])
    if not isinstance(releases, list):
        return wrong("releases", releases, "a list of {name, previous}")
    for index, release in enumerate(releases):
        where = f"releases[{index}]"
        if not isinstance(release, dict):
            return wrong(where, release, "an object {name, previous}")
        if not isinstance(release.get("name"), str):
            return wrong(f"{where}.name", release.get("name"), "a release name (a string)")
        if not isinstance(release.get("previous"), str | None):
            return wrong(f"{where}.previous", release.get("previous"), "a release name or null")
    steps = data.get("steps", {})
    if not isinstance(steps, dict):
        return wrong("steps", steps, "an object of steps by release")
    for release, step in steps.items():
        if not isinstance(step, dict):
            return wrong(f"steps.{release}", step, "an object with modules")
        modules = step.get("modules", {})
        if not isinstance(modules, dict):
            return wrong(f"steps.{release}.modules", modules, "an object of modules by name")
        for name, entry in modules.items():
            where = f"steps.{release}.modules.{name}"
            if not isinstance(entry, dict):
                return wrong(where, entry, "an object with status")
            for key in ("status", "target"):
                if key in entry and not isinstance(entry[key], str | None):
                    return wrong(f"{where}.{key}", entry[key], "a string")
            for key in ("evidence", "disagreements"):
                if entry.get(key) is not None and (found := texts(f"{where}.{key}", entry[key])):
                    return found
            run = entry.get("run")
            if run is None:
                continue
            if not isinstance(run, dict):
                return wrong(f"{where}.run", run, "an object or null")
            if run.get("evidence") is not None and (
                    found := texts(f"{where}.run.evidence", run["evidence"])):
                return found
    return None


def check_data_js(data: Mapping[str, Any]) -> str:
    """The check data as a script (api/check-data.js): a page on file:// cannot fetch() JSON."""
    import json

    text = json.dumps(data, sort_keys=True, separators=(",", ":"))
    # Keep it inert even if someone inlines it in a <script> element.
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return f"window.OUHUB_CHECK_DATA = {text};\n"


def build_check_data(
    config: Any, store: Any, releases: Iterable[str] | None = None
) -> dict[str, Any]:
    """Per step, per module: coverage status, target, evidence lines and last run outcome.

    Steps are keyed by their release (the step previous -> release); ``releases``
    limits the steps filled (the command needs only its chain; the site needs all).
    """
    import json

    wanted = None if releases is None else set(releases)
    steps: dict[str, Any] = {}
    work = _open_work(config, store)
    for previous, release in config.steps:
        if wanted is not None and release not in wanted:
            continue
        modules: dict[str, Any] = {}
        for module, status, target, evidence, disagreements in store.check_coverage_rows(release):
            entry: dict[str, Any] = {"status": status}
            if target:
                entry["target"] = target
            if evidence != _NO_EVIDENCE:
                lines = evidence_lines(json.loads(evidence))
                if lines:
                    entry["evidence"] = lines
            if disagreements != "[]":
                found = [str(d) for d in json.loads(disagreements)]
                if found:
                    entry["disagreements"] = found
            modules[module] = entry
        for outcome in store.last_run_outcomes(release).values():
            entry = modules.get(outcome.module)
            if entry is not None:
                entry["run"] = _run_entry(outcome)
        for module, works in work.get(release, {}).items():
            if module in modules:
                modules[module]["work"] = works
        steps[release] = {"previous": previous, "release": release, "modules": modules}
    data: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "releases": [{"name": r.name, "previous": r.previous} for r in config.releases.values()],
        "steps": steps,
    }
    if config.contributions is not None:
        data["stale_days"] = config.contributions.stale_days
    return data


def _open_work(config: Any, store: Any) -> dict[str, dict[str, list[dict[str, Any]]]]:
    """Per release and module, the open work writing its scripts, most recently active first
    (the contributions stage's; none when it is not configured)."""
    if config.contributions is None:
        return {}
    from ouhub.contributions.report import load_report

    report = load_report(store, config.contributions.stale_days)
    found: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for _previous, release in config.steps:
        for work in report.in_progress(release):
            if work.module:
                found.setdefault(release, {}).setdefault(work.module, []).append({
                    "ref": work.ref, "author": work.author, "source": work.source,
                    "updated": work.last_author_activity, "url": work.url,
                })
    return found


def cached_check_data(config: Any, reader: Any, store: Callable[[], Any]) -> dict[str, Any]:
    """The check data of every step, from a cache file in the data dir while the store's
    scans and finished runs are unchanged (the key, from ``reader``: the store's reads for
    check and the site, which create none of the stages' records), else built from
    ``store()`` and cached anew.

    The cache is marshal, not JSON, and each step's modules are kept packed (``_Packed``):
    a check reads a few modules of thousands, and decoding them all cost more than the rest
    of the command (bench/startup.py). It is private to this Python (its version is in the
    key); a file that does not load is rebuilt.
    """
    import sys

    key = [SCHEMA_VERSION, list(sys.version_info[:2]), marshal.version, _builder_stamp(),
           [[r.name, r.previous] for r in config.releases.values()], reader.check_data_key()]
    path = config.data_dir / "cache" / CACHE_NAME
    try:
        with open(path, "rb") as fh:
            cached = marshal.loads(fh.read())  # marshal.load(fh) reads piecemeal: slow
        if cached.get("key") == key:
            data = cached["data"]
            for step in data["steps"].values():
                step["modules"] = _Packed(*step["modules"], source=path)
            return data
    except FileNotFoundError:
        pass
    except (OSError, ValueError, EOFError, TypeError, AttributeError, KeyError) as exc:
        _log("ignoring the check data cache %s: %s", path, exc)
    data = build_check_data(config, store())
    packed = {**data, "steps": {release: {**step, "modules": _pack(step["modules"])}
                                for release, step in data["steps"].items()}}
    try:
        from ouhub.fsutil import write_atomic

        write_atomic(path, marshal.dumps({"key": key, "data": packed}))
    except (OSError, ValueError) as exc:  # a cache we cannot write only costs time
        _log("cannot write the check data cache %s: %s", path, exc)
    return data


def _log(message: str, *args: Any) -> None:
    import logging  # here: a check that reads its cache logs nothing (~20 M instructions)

    logging.getLogger(__name__).info(message, *args)


def _builder_stamp() -> list[int]:
    """The size and time of the code that builds the check data: a new ouhub rebuilds stale
    caches (as Python's own bytecode cache is stamped)."""
    import os

    from ouhub import redact

    return [n for file in (__file__, redact.__file__)
            for st in [os.stat(file)] for n in (st.st_size, st.st_mtime_ns)]


def _pack(modules: Mapping[str, Any]) -> tuple[str, tuple[int, ...], bytes]:
    """A step's modules as ``_Packed`` keeps them: their sorted names in one text (module
    folders: no NUL in them), and each entry marshalled, one after the other."""
    names = sorted(modules)
    entries = [marshal.dumps(modules[name]) for name in names]
    ends, end = [], 0
    for entry in entries:
        end += len(entry)
        ends.append(end)
    return "\0".join(names), tuple(ends), b"".join(entries)


class _Packed(Mapping[str, Any]):
    """A step's modules read from the cache file ``source``: a name is found by bisection in
    the sorted names (split from their text on first use) and its entry alone is decoded."""

    def __init__(self, names: str, ends: tuple[int, ...], entries: bytes, source: Any):
        self._text = names
        self._names: list[str] = []
        self._ends = ends
        self._entries = entries
        self._source = source

    def __getitem__(self, name: str) -> Any:
        names = self._sorted()
        index = bisect_left(names, name)
        if index == len(names) or names[index] != name:
            raise KeyError(name)
        try:
            return marshal.loads(self._entries[self._ends[index - 1] if index else 0:
                                               self._ends[index]])
        except (ValueError, EOFError, TypeError) as exc:
            raise CheckError(f"the check data cache {self._source} is damaged: {exc}",
                             hint=f"delete it (rm {self._source}): the next check rebuilds it "
                             "from the store") from exc

    def __iter__(self) -> Iterator[str]:
        return iter(self._sorted())

    def __len__(self) -> int:
        return len(self._ends)

    def _sorted(self) -> list[str]:
        if not self._names and self._ends:
            self._names = self._text.split("\0")
        return self._names


# The check data cache's file name in <data_dir>/cache (see cached_check_data).
CACHE_NAME = "check-data.marshal"


# How the store writes an Evidence with nothing in it (json.dumps(..., sort_keys=True)).
_NO_EVIDENCE = '{"analysis": [], "apriori": null, "declaration": null, "scripts": []}'


def evidence_lines(evidence: Mapping[str, Any]) -> list[str]:
    """Coverage evidence as short lines: script paths, the declaration line, the apriori
    entry, the analysis lines (rules.py tells a declared nothing_to_do by its "declared:")."""
    lines = [f"script: {path}" for path in evidence.get("scripts") or ()]
    if evidence.get("declaration"):
        lines.append(f"declared: {evidence['declaration']}")
    if evidence.get("apriori"):
        lines.append(f"apriori: {evidence['apriori']}")
    lines.extend(f"analysis: {line}" for line in evidence.get("analysis") or ())
    return lines


def excerpt_tail(text: str, limit: int = 600) -> str:
    """The end of a log excerpt (where the error is), cut at a line boundary."""
    lines = text.strip().splitlines()
    kept: list[str] = []
    size = 0
    for line in reversed(lines):
        if kept and size + len(line) + 1 > limit:
            break
        kept.append(line)
        size += len(line) + 1
    return "\n".join(reversed(kept))[-limit:]


def _run_entry(outcome: Any) -> dict[str, Any]:
    """A ModuleRunOutcome of the store as the check data's ``run``."""
    run: dict[str, Any] = {
        "outcome": outcome.outcome,
        "run_status": outcome.run_status,
        "sample": outcome.sample,
        "at": outcome.finished_at,
        "run_id": outcome.run_id,
    }
    if outcome.outcome == "failed" and outcome.excerpt:
        # published by the site (api/check-data.json): the hosts' paths are not
        run["evidence"] = [hide_paths(excerpt_tail(outcome.excerpt))]
    return {k: v for k, v in run.items() if v is not None}


