"""Decide the coverage status of every module in one step, with its evidence.

Pure: takes what the scan found (modules, scripts, the declared table, apriori)
and returns one ``ModuleStatus`` per module. Statuses are DESIGN.md's:
``done`` (scripts for this step, or declared Done), ``nothing_to_do`` (declared, or
said by the analysis: every change annotated "nothing to do" by the analysts, or
"nothing has changed in this module"), ``partial`` (declared), ``todo`` (in both
releases, no scripts, no declaration, changes left open),
``new``, ``removed``, ``renamed``/``merged`` (with the target), ``unknown`` (we
cannot tell whether the module existed in the previous release). A ``todo`` is
never silent: it has neither scripts nor a declaration, while ``nothing_to_do``
always carries the declaration line or the analysis lines that say so. A declared table
wins over the analysis; a declaration the tree contradicts is flagged. The first release of the
configured chain has no step: its modules are recorded as ``new`` (they enter
the chain there), never as ``unknown``, which would read as a gap to fill.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ouhub.coverage.scripts import ScriptFile
from ouhub.records import Evidence
from ouhub.vocab import COVERAGE_STATUSES, COVERED, NEEDS_DECISION

DECLARED_DONE_WITHOUT_SCRIPTS = "declared Done without scripts"
SCRIPTS_WITHOUT_DECLARATION = "scripts without a declaration"
DECLARED_ABSENT = "declared module absent from the tree"
DECLARED_NOTHING_WITH_SCRIPTS = "declared Nothing to do but the tree has scripts"
APRIORI_TARGET_MISSING = "apriori target does not exist"


@dataclass(frozen=True)
class ModuleInfo:
    """A module found in a release's tree (a directory with a manifest)."""

    name: str
    path: str
    version: str | None = None
    error: str | None = None  # the manifest's parse error, if any


@dataclass(frozen=True)
class ModuleStatus:
    module: str
    status: str
    target: str | None = None
    evidence: Evidence = field(default_factory=Evidence)
    disagreements: tuple[str, ...] = ()
    in_tree: bool = False


@dataclass(frozen=True)
class StepInputs:
    """Everything the decision reads for one step previous -> release."""

    release: str
    previous: str | None
    modules: Mapping[str, ModuleInfo]  # manifests found in the release's trees
    scripts: Sequence[ScriptFile] = ()  # every script found; those of other releases are ignored
    folder_modules: frozenset[str] = frozenset()  # modules with a version folder of this release
    previous_modules: frozenset[str] | None = None  # None: the previous release was not scanned
    # modules whose analysis lists changes to what they had before (a DEL, a changed field):
    # they existed in the previous release even when nothing else tells
    existed_modules: frozenset[str] = frozenset()
    # modules the previous release's stored scan lists as there: presence proves they
    # existed, even when that scan's tree was not whole (absence proves nothing then)
    seen_before: frozenset[str] = frozenset()
    # module -> (analysis file, ModuleAnalysis) read for this step
    analyses: Mapping[str, tuple[str, Any]] = field(default_factory=dict)
    declarations: Sequence[Any] | None = None  # declared.Declaration rows; None: no table
    declared_source: str | None = None
    apriori: Any | None = None  # apriori.Apriori
    apriori_source: str | None = None
    # the release starts the configured chain: no step leads to it, so nothing is judged
    first_release: bool = False


def decide_statuses(inputs: StepInputs) -> list[ModuleStatus]:
    """One status per module known to the step, sorted by module name."""
    release = inputs.release
    scripts: dict[str, list[str]] = {}
    for script in inputs.scripts:
        if script.release == release:
            scripts.setdefault(script.module, []).append(script.path)
    if inputs.first_release:
        # the scripts stay as evidence; declarations and apriori speak of a step not configured.
        # A tree of openupgrade_scripts/scripts/ folders has them for its modules, no manifest.
        return [
            ModuleStatus(module, "new", evidence=Evidence(tuple(sorted(scripts.get(module, ())))),
                         in_tree=module in inputs.modules)
            for module in sorted(set(inputs.modules) | inputs.folder_modules)
        ]
    declared: dict[str, Any] = {}
    for row in inputs.declarations or ():
        declared[row.module] = row  # a module declared twice keeps its last row
    renamed = dict(getattr(inputs.apriori, "renamed_modules", None) or {})
    merged = dict(getattr(inputs.apriori, "merged_modules", None) or {})

    # A tree that holds base holds the release's modules: absence from it means something.
    tree_complete = "base" in inputs.modules
    known_in_release: set[str] | None = None
    if tree_complete:
        known_in_release = set(inputs.modules)
    elif inputs.declarations is not None:
        known_in_release = {m for m, d in declared.items() if not d.is_del}

    universe = (
        set(inputs.modules) | set(declared) | set(scripts) | set(inputs.folder_modules)
        | set(renamed) | set(merged) | set(inputs.previous_modules or ())
    )
    results = []
    for module in sorted(universe):
        decl = declared.get(module)
        found = tuple(sorted(scripts.get(module, ())))
        evidence = Evidence(scripts=found, declaration=_declaration_text(inputs, decl))
        in_tree = module in inputs.modules
        problems: list[str] = []
        analysed = inputs.analyses.get(module)
        said = analysis_says_nothing_to_do(*analysed) if analysed else None
        status, target = _status(
            inputs, module, decl, found, in_tree, tree_complete, renamed, merged, said
        )
        if status == "nothing_to_do" and said:
            evidence = Evidence(found, evidence.declaration, None, said)
        if status in ("renamed", "merged"):
            kind = "renamed_modules" if status == "renamed" else "merged_modules"
            if module in (renamed if status == "renamed" else merged):
                evidence = Evidence(
                    found, evidence.declaration,
                    f"{inputs.apriori_source or 'apriori.py'}: {kind}[{module!r}] = {target!r}",
                )
                if known_in_release is not None and target not in known_in_release:
                    problems.append(f"{APRIORI_TARGET_MISSING}: {target} is not in {release}")
        if decl is not None and decl.status == "done" and not found and status == "done":
            problems.append(DECLARED_DONE_WITHOUT_SCRIPTS)
        if found and inputs.declarations is not None and (decl is None or decl.status is None):
            problems.append(SCRIPTS_WITHOUT_DECLARATION)
        if found and decl is not None and decl.status == "nothing_to_do":
            problems.append(DECLARED_NOTHING_WITH_SCRIPTS)
        if (
            decl is not None and tree_complete and not in_tree and not decl.is_del
            and status not in ("renamed", "merged")
        ):
            problems.append(DECLARED_ABSENT)
        results.append(ModuleStatus(module, status, target, evidence, tuple(problems), in_tree))
    return results


def _status(
    inputs: StepInputs, module: str, decl: Any, scripts: tuple[str, ...], in_tree: bool,
    tree_complete: bool, renamed: dict, merged: dict, said: tuple[str, ...] | None = None,
) -> tuple[str, str | None]:
    if module in renamed:
        return "renamed", str(renamed[module])
    if module in merged:
        return "merged", str(merged[module])
    kind = getattr(decl, "kind", None)
    if decl is not None and kind in ("renamed", "merged") and getattr(decl, "target", None):
        return kind, decl.target
    if decl is not None and decl.is_del:
        return "removed", None
    existed = _existed_before(inputs, module, decl)
    undeclared = decl is None or decl.status is None
    if tree_complete and not in_tree and not scripts and existed and undeclared:
        return "removed", None
    if scripts:
        return ("partial" if decl is not None and decl.status == "partial" else "done"), None
    if decl is not None and decl.is_new:
        return "new", None
    if inputs.previous_modules is not None and in_tree and module not in inputs.previous_modules:
        return "new", None
    if decl is not None and decl.status in ("done", "nothing_to_do", "partial"):
        return decl.status, None
    if said:
        return "nothing_to_do", None
    present = in_tree or module in inputs.folder_modules or decl is not None
    if existed and present:
        return "todo", None
    return "unknown", None


def _existed_before(inputs: StepInputs, module: str, decl: Any) -> bool | None:
    """Whether the module was in the previous release; None when nothing tells."""
    if module in inputs.seen_before:
        return True
    if inputs.previous_modules is not None:
        return module in inputs.previous_modules
    if decl is not None:
        return not decl.is_new
    if module in inputs.existed_modules:
        return True
    return None


def analysis_says_nothing_to_do(source: str, analysis: Any) -> tuple[str, ...] | None:
    """The analysis lines that say nothing is to do for the module, else None.

    Either the analysts answered every change with a "nothing to do" annotation, or
    the comparison found no change (``nothing has changed in this module``, or an
    analysis listing none).
    """
    if analysis.total == 0:
        if analysis.other:
            return None  # lines of no known form: not an empty analysis
        if analysis.unchanged is not None:
            return (f"{source}:{analysis.unchanged}: nothing has changed in this module",)
        return (f"{source}: the analysis lists no change",)
    if analysis.unannotated or set(analysis.annotation_kinds) != {"nothing_to_do"}:
        return None
    return tuple(
        f"{source}:{a.line}: # {a.text} ({a.covers} change{'s' if a.covers != 1 else ''})"
        for a in analysis.annotations if a.covers
    )


def _declaration_text(inputs: StepInputs, decl: Any) -> str | None:
    if decl is None:
        return None
    marker = "|new| " if decl.is_new else "|del| " if decl.is_del else ""
    row = " | ".join(x for x in (f"{marker}{decl.module}", decl.status_raw, decl.extra) if x)
    return f"{inputs.declared_source or 'declared table'}:{decl.line}: {row}"


def coverage_share(totals: Mapping[str, int]) -> float | None:
    """The share of a step's modules needing a decision (done, nothing to do, partial,
    todo) that are done or have nothing to do; None when none needs one."""
    whole = sum(totals.get(status, 0) for status in NEEDS_DECISION)
    return sum(totals.get(status, 0) for status in COVERED) / whole if whole else None


def totals(statuses: Sequence[ModuleStatus]) -> dict[str, int]:
    """Count of modules per status, every status present (zero included)."""
    counts = dict.fromkeys(COVERAGE_STATUSES, 0)
    for item in statuses:
        counts[item.status] = counts.get(item.status, 0) + 1
    return counts
