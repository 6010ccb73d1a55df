"""Which (release, module) a pull request or merge proposal works on, and why: pure.

Records in, records out; no I/O. The evidence, strongest first (``EVIDENCE_KINDS``):

1. the base branch (a merge proposal's target branch) names a configured release;
2. changed files under ``openupgrade_scripts/scripts/<module>/<version>/`` (from 14.0 on)
   or ``<module>/migrations/<version>/`` (before 14.0), the version being the release's;
3. changed rows of the step's ``docsource/modulesXXX-YYY.rst``, which also give the
   status the module will have once merged;
4. the release's tracking issue naming the pull request on the module's line;
5. the title's module tokens (``[17.0][OU-ADD] project: Migration scripts``, the older
   ``[MIG] stock: migration to 12.0``), exact tokens only; a merge proposal's source
   branch name (``7.0-migrate-account_voucher``) the same way.

A pull request into a configured release that touches no module is one Match with
``module=None``: it is listed under its release, never dropped.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from ouhub.coverage.declared import declared_file_step, normalise_status
from ouhub.records import Match, MatchEvidence, MergeProposal, Pull, PullFile
from ouhub.versions import release_of_version, version_key
from ouhub.vocab import EVIDENCE_KINDS

#: From this release on, scripts live in openupgrade_scripts/scripts/<module>/<version>/.
SCRIPTS_PACKAGE_SINCE = "14.0"

_MODULE = r"[A-Za-z0-9_]+"
_SCRIPTS_PATH = re.compile(
    rf"(?:^|/)openupgrade_scripts/scripts/(?P<module>{_MODULE})/(?P<version>[^/]+)/")
_MIGRATIONS_PATH = re.compile(rf"(?:^|/)(?P<module>{_MODULE})/migrations/(?P<version>[^/]+)/")
_TITLE_TAGS = re.compile(r"^\s*((?:\[[^\]]*\]\s*)*)(?P<rest>.*)$", re.DOTALL)
_TOKEN = re.compile(r"[a-z0-9_]+")
_ROW_MARKER = re.compile(r"\|(?:new|del)\|", re.IGNORECASE)
_TRACKING_LINE = re.compile(r"^\s*[-*+]\s*\[(?P<tick>[ xX])\]\s*(?P<rest>.*?)\s*$")
_TRACKING_MODULE = re.compile(rf"^[~*`'\"\s]*(?P<module>{_MODULE})")
_LOGIN = re.compile(r"\bby\s+@(?P<login>[A-Za-z0-9-]+)", re.IGNORECASE)
_PULL_REF = r"(?:#|https?://github\.com/[^/\s]+/[^/\s]+/pull/)(\d+)"
_NUMBERS = re.compile(_PULL_REF)
_SUPERSEDES = re.compile(
    r"\b(?:supersedes|superseeds|supersede|replaces|replace)\b[:\s]*" + _PULL_REF, re.IGNORECASE)
_SUPERSEDED_BY = re.compile(
    r"\b(?:superseded|superseeded|replaced)\s+by\b[:\s]*" + _PULL_REF, re.IGNORECASE)


@dataclass(frozen=True)
class TrackingLine:
    """One module line of a release's tracking issue: ``- [x] module - By @login - #PR``."""

    module: str
    ticked: bool
    login: str | None
    numbers: tuple[int, ...]
    line: int
    text: str


def _strength(evidence: MatchEvidence) -> int:
    return EVIDENCE_KINDS.index(evidence.kind)


# -- each kind of evidence --------------------------------------------------------------------


def script_modules(paths: Iterable[str], release: str) -> dict[str, str]:
    """{module: first path} of the files that are the release's migration scripts."""
    pattern = (_SCRIPTS_PATH if version_key(release) >= version_key(SCRIPTS_PACKAGE_SINCE)
               else _MIGRATIONS_PATH)
    found: dict[str, str] = {}
    for path in paths:
        match = pattern.search(path)
        if match and release_of_version(match.group("version")) == release:
            found.setdefault(match.group("module"), path)
    return found


def docsource_rows(filename: str, patch: str | None, release: str) -> dict[str, str | None]:
    """{module: status once merged} of the changed rows of the step's modules file.

    Only a ``modulesXXX-YYY.rst`` (``docsource/`` from 14.0 on, ``doc/source/`` before)
    whose step ends at ``release`` counts; a row
    only removed gives no status (None), an added row gives its normalised status.
    """
    step = declared_file_step(filename)
    if step is None or step[1] != release or not patch:
        return {}
    found: dict[str, str | None] = {}
    for raw in patch.splitlines():
        if not raw or raw[0] not in "+-" or raw.startswith(("+++", "---")):
            continue
        cells = [c.strip() for c in _ROW_MARKER.sub("", raw[1:]).split("|")]
        if len(cells) < 4 or cells[0]:  # a row reads |module|status|...|
            continue
        module = cells[1].strip("`*")
        if not re.fullmatch(_MODULE, module) or module.lower() == "module":
            continue
        if raw[0] == "+":
            found[module] = normalise_status(cells[2])
        else:
            found.setdefault(module, None)
    return found


def title_modules(title: str, known: frozenset[str] | None) -> tuple[list[str], bool]:
    """(module tokens of a title, named) where ``named`` means they precede a colon.

    ``[17.0][OU-ADD] note > project_todo: Migration scripts`` -> (["note", "project_todo"],
    True). Without a colon every token of the title known as a module counts, as a
    fallback (named=False). Without ``known`` modules (no coverage scan) none counts.
    """
    match = _TITLE_TAGS.match(title)
    rest = match.group("rest") if match else title
    head, colon, _tail = rest.partition(":")
    named = bool(colon) and bool(_TOKEN.search(head.lower()))
    text = head if named else rest
    if known is None:
        return [], named
    tokens = list(dict.fromkeys(_TOKEN.findall(text.lower())))
    return [t for t in tokens if t in known], named


def branch_modules(branch_name: str, known: frozenset[str] | None) -> list[str]:
    """Module tokens of a bzr branch name: ``7.0-migrate-account_voucher`` -> account_voucher."""
    if known is None:
        return []
    last = branch_name.rstrip("/").rsplit("/", 1)[-1].lower()
    tokens = re.split(r"[^a-z0-9_]+", last)
    return list(dict.fromkeys(t for t in tokens if t in known))


def parse_tracking(body: str) -> list[TrackingLine]:
    """The module lines of a tracking issue's body (``- [x] module - By @login - #PR``)."""
    lines = []
    for number, raw in enumerate(body.splitlines(), 1):
        match = _TRACKING_LINE.match(raw)
        if not match:
            continue
        rest = match.group("rest")
        module = _TRACKING_MODULE.match(rest)
        if not module:
            continue
        login = _LOGIN.search(rest)
        lines.append(TrackingLine(
            module=module.group("module"), ticked=match.group("tick") != " ",
            login=login.group("login") if login else None,
            numbers=tuple(dict.fromkeys(int(n) for n in _NUMBERS.findall(rest))),
            line=number, text=raw.strip(),
        ))
    return lines


def supersedes(text: str) -> list[int]:
    """Pull request numbers a text says it supersedes (``Supersedes #4469``)."""
    return list(dict.fromkeys(int(n) for n in _SUPERSEDES.findall(text)))


def superseded_by(text: str) -> int | None:
    """The pull request a text says supersedes it (``Superseded by #2997``), if any."""
    found = _SUPERSEDED_BY.findall(text)
    return int(found[-1]) if found else None


# -- matching -----------------------------------------------------------------------------------


class _Collector:
    """Evidence per module, kept strongest first, and docsource statuses."""

    def __init__(self) -> None:
        self.evidence: dict[str, list[MatchEvidence]] = {}
        self.status: dict[str, str | None] = {}

    def add(self, module: str, kind: str, detail: str) -> None:
        items = self.evidence.setdefault(module, [])
        if not any(e.kind == kind for e in items):
            items.append(MatchEvidence(kind, detail))

    def strong(self) -> bool:
        return any(self.evidence.values())

    def matches(self, release: str, base: MatchEvidence) -> list[Match]:
        if not self.evidence:
            return [Match(release=release, module=None, evidence=(base,))]
        return [
            Match(
                release=release, module=module,
                evidence=(base, *sorted(items, key=_strength)),
                declared_status=self.status.get(module),
            )
            for module, items in sorted(self.evidence.items())
        ]


def match_pull(
    pull: Pull,
    files: Sequence[PullFile] | None,
    known: Mapping[str, frozenset[str] | None],
    tracking: Sequence[TrackingLine] = (),
) -> list[Match]:
    """The (release, module) pairs ``pull`` works on, each with its evidence.

    ``known``: configured release -> the modules known in it (None when not scanned);
    a pull whose base is not a configured release matches nothing. ``files``: its
    changed files, None when not read yet. ``tracking``: the lines of its release's
    tracking issue.
    """
    release = pull.base
    if release not in known:
        return []
    modules = known[release]
    found = _Collector()
    for file in files or ():
        paths = [file.filename] + ([file.previous_filename] if file.previous_filename else [])
        for module, path in script_modules(paths, release).items():
            found.add(module, "scripts", path)
        for module, status in docsource_rows(file.filename, file.patch, release).items():
            found.add(module, "docsource", file.filename)
            if status is not None or module not in found.status:
                found.status[module] = status
    for line in tracking:
        if pull.number in line.numbers:
            found.add(line.module, "tracking", f"line {line.line}: {line.text}")
    tokens, named = title_modules(pull.title, modules)
    if named or not found.strong():
        for token in tokens:
            found.add(token, "title", pull.title)
    return found.matches(release, MatchEvidence("base", pull.base))


def match_proposal(
    proposal: MergeProposal, known: Mapping[str, frozenset[str] | None]
) -> list[Match]:
    """The (release, module) pairs a Launchpad merge proposal works on."""
    release = proposal.release
    if release is None or release not in known:
        return []
    found = _Collector()
    for module, path in script_modules(proposal.paths, release).items():
        found.add(module, "scripts", path)
    if not found.strong():
        for token in branch_modules(proposal.source_branch, known[release]):
            found.add(token, "branch", proposal.source_branch)
    return found.matches(release, MatchEvidence("base", proposal.target_branch))


def release_of_branch(unique_name: str, releases: Iterable[str]) -> str | None:
    """The release a Launchpad branch stands for: its last segment, if configured.

    ``~openupgrade-committers/openupgrade-addons/7.0`` -> ``7.0``.
    """
    last = unique_name.rstrip("/").rsplit("/", 1)[-1]
    return last if last in set(releases) else None
