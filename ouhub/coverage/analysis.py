"""OpenUpgrade analysis files: what changed per module between two releases, and what the
analysts wrote about it.

Formats read (all produced by OpenUpgrade's comparison tool over the years):

* 6.1: ``---base---`` headers; field lines ``base / ir.actions.client / name (char) :
  NEW required: required``; record lines ``deleted xml-id of model ir.ui.view:
  base.values_view_form`` / ``new xml-id of model res.country: base.ax``.
* 7.0 on: ``---Fields in module 'x'---``, ``---XML records in module 'x'---``,
  ``---Models in module 'x'---`` sections; record lines ``NEW model: xmlid``,
  ``DEL model: xmlid``, ``model: xmlid (noupdate) (noupdate switched)``; model lines
  ``new model X [abstract]``, ``obsolete model X (renamed to Y) [module Z]``; a module
  without changes says ``---nothing has changed in this module--``.
* ``_work`` files: the same lines, annotated by the analysts. Two conventions, both read:
  in the 7.0 era a comment comes *before* the lines it is about (``### Ignore new
  fields``, then the lines, up to the next comment; groups not always separated by
  blank lines); from 8.0 on *after* them (the lines, then ``# NOTHING TO DO`` or
  ``# DONE: post-migration: ...``). Each group of lines (between blank lines; a section
  header of the same module does not split one) is read by its shape: a group that
  opens with a comment and closes with a change is "before", one that opens with a
  change and closes with a comment is "after"; any other shape follows its era (the
  release of the file's version folder). A comment alone in its group answers the
  changes left open just above it (or, "before", the changes just below it).

Each comment is classified by the era's wordings: ``DONE ...`` is done; ``NOTHING TO
DO``, ``Nothing to do : ...``, ``Ignore ...``, ``No changes``, or "nothing to do" anywhere
in the sentence (``View : Nothing to do.``) is nothing to do; ``TODO ...`` is todo;
anything else is a note. Parsing never fails: a line matching no known form is counted
as ``other`` and reported as a warning (with its line number).
"""

from __future__ import annotations

import functools
import operator
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from itertools import starmap
from typing import Any

from ouhub.coverage.analysis_lines import (
    AFTER,
    BEFORE,
    MAX_WARNINGS,
    Reader,
    annotation_kind,
    shorten,
)

__all__ = [
    "AFTER", "BEFORE", "KINDS", "MAX_WARNINGS", "Annotation", "AnalysisFile", "ModuleAnalysis",
    "analysis_data", "annotation_kind", "era_convention", "is_general_log",
    "is_openupgrade_analysis_file", "is_work", "parse_analysis", "preference",
]
KINDS = ("done", "nothing_to_do", "todo", "note")

_ANALYSIS_NAME = re.compile(r"(?:open)?upgrade[_ -]?analysis(?P<rest>[^/]*)\.txt")
_NAME_WORDS = re.compile(r"[\s_\-.()]+")
_TOOL_NAMES = ("upgrade_analysis.txt", "openupgrade_analysis.txt")
_VERSION_DIR = re.compile(r"(?:^|/)(?:saas~)?(\d+)\.(\d+)(?:\.\d+)+/")


@dataclass(frozen=True)
class Annotation:
    """One comment of the analysts (a run of comment lines), and the changes it answers."""

    line: int  # the line of the words that gave its kind
    kind: str  # done | nothing_to_do | todo | note
    text: str  # those words, without the "#"
    covers: int = 0  # changes credited to it

    def as_list(self) -> list[Any]:
        return [self.line, self.kind, self.text, self.covers]


@dataclass(frozen=True)
class ModuleAnalysis:
    """Counts of one module's changes in one analysis file, and the analysts' annotations.

    ``fields``/``models``/``records`` map a kind of change (``new``, ``del``, ``type``,
    ``renamed``, ...) to its count; ``open`` maps ``"<table>.<kind>"`` to the changes no
    annotation answers. ``annotated`` counts answered changes and ``annotation_kinds``
    splits them by the annotation's word. ``unchanged`` is the line saying "nothing has
    changed in this module", if any. ``other`` counts lines of no known form.
    """

    module: str
    fields: Mapping[str, int] = field(default_factory=dict, hash=False)
    models: Mapping[str, int] = field(default_factory=dict, hash=False)
    records: Mapping[str, int] = field(default_factory=dict, hash=False)
    other: int = 0
    annotated: int = 0
    annotation_kinds: Mapping[str, int] = field(default_factory=dict, hash=False)
    warnings: tuple[str, ...] = ()
    open: Mapping[str, int] = field(default_factory=dict, hash=False)
    annotations: tuple[Annotation, ...] = ()
    unchanged: int | None = None

    @property
    def field_changes(self) -> int:
        return sum(self.fields.values())

    @property
    def model_changes(self) -> int:
        return sum(self.models.values())

    @property
    def record_changes(self) -> int:
        return sum(self.records.values())

    @property
    def total(self) -> int:
        """All changes (fields, models and records); ``other`` lines are not changes."""
        return (sum(self.fields.values()) + sum(self.models.values())
                + sum(self.records.values()))

    @property
    def unannotated(self) -> int:
        return sum(self.open.values())

    @property
    def open_changes(self) -> int:
        """Changes no annotation answers, additions left out (the ORM creates what is new)."""
        return sum(n for key, n in self.open.items() if not key.partition(".")[2].startswith("new"))

    @property
    def analysed_share(self) -> float:
        """Share of changes annotated with something else than a bare TODO (1.0 if none)."""
        total = self.total
        if not total:
            return 1.0
        analysed = self.annotated - self.annotation_kinds.get("todo", 0)
        return max(0.0, min(1.0, analysed / total))

    def as_dict(self) -> dict[str, Any]:
        return {
            "module": self.module, "fields": dict(self.fields), "models": dict(self.models),
            "records": dict(self.records), "other": self.other, "annotated": self.annotated,
            "annotation_kinds": dict(self.annotation_kinds), "warnings": list(self.warnings),
            "open": dict(self.open), "annotations": [a.as_list() for a in self.annotations],
            "unchanged": self.unchanged,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ModuleAnalysis:
        return cls(
            module=data["module"], fields=data["fields"], models=data["models"],
            records=data["records"], other=data["other"], annotated=data["annotated"],
            annotation_kinds=data["annotation_kinds"], warnings=tuple(data["warnings"]),
            open=data["open"], annotations=tuple(starmap(Annotation, data["annotations"])),
            unchanged=data["unchanged"],
        )


@dataclass(frozen=True)
class AnalysisFile:
    """One analysis file: its modules, in the order they appear, and its warnings."""

    source: str
    is_work: bool
    modules: Mapping[str, ModuleAnalysis] = field(default_factory=dict, hash=False)
    warnings: tuple[str, ...] = ()
    convention: str = AFTER  # the era's default, for groups whose shape does not tell

    @property
    def total(self) -> int:
        return sum(m.total for m in self.modules.values())

    @property
    def other(self) -> int:
        return sum(m.other for m in self.modules.values())

    def as_dict(self) -> dict[str, Any]:
        return {"source": self.source, "is_work": self.is_work, "warnings": list(self.warnings),
                "convention": self.convention,
                "modules": [m.as_dict() for m in self.modules.values()]}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> AnalysisFile:
        modules = [ModuleAnalysis.from_dict(m) for m in data["modules"]]
        return cls(data["source"], data["is_work"], {m.module: m for m in modules},
                   tuple(data["warnings"]), data["convention"])

    def result_for(self, module: str) -> ModuleAnalysis | None:
        """The counts of ``module``: its own section, else the file's only one (a module's
        file whose header names another)."""
        found = self.modules.get(module)
        if found is None and len(self.modules) == 1:
            found = next(iter(self.modules.values()))
        return found

    @staticmethod
    def result_from_dict(data: Mapping[str, Any], module: str) -> ModuleAnalysis | None:
        """``AnalysisFile.from_dict(data).result_for(module)``, the other modules not built
        (a rescan takes one module's counts from each kept file)."""
        modules = data["modules"]
        for item in modules:
            if item["module"] == module:
                return ModuleAnalysis.from_dict(item)
        return ModuleAnalysis.from_dict(modules[0]) if len(modules) == 1 else None


def is_openupgrade_analysis_file(name: str) -> bool:
    """True for ``openupgrade_analysis.txt``, ``upgrade_analysis.txt`` and their variants."""
    return _analysis_name(name) is not None


def is_work(name: str) -> bool:
    """True for the annotated variants (``upgrade_analysis_work.txt``, ``... work.txt``)."""
    return _analysis_name(name) == "work"


def preference(name: str) -> int:
    """How much an analysis file tells of the analysts' decisions, to pick one per module.

    2: a work file; 1: another copy of the analysis, annotated by hand whatever its name
    (``upgrade_analysis_done.txt``, ``... copy.txt``, as the real trees hold); 0: the
    comparison tool's own output; -1: not an analysis file.
    """
    kind = _analysis_name(name)
    if kind is None:
        return -1
    if kind == "work":
        return 2
    return 0 if name.rpartition("/")[2].lower() in _TOOL_NAMES else 1


def is_general_log(name: str) -> bool:
    """True for the comparison's general log (``upgrade_general_log.txt`` and older names)."""
    base = os.path.basename(name).lower()
    return bool(re.fullmatch(r"(?:open)?upgrade[_ -]?general[_ -]?log.*\.txt", base))


def _analysis_name(name: str) -> str | None:
    return _analysis_base_name(name.rpartition("/")[2])


@functools.lru_cache(maxsize=1024)
def _analysis_base_name(base: str) -> str | None:
    """``"work"``, ``"plain"`` or None for a file name (a scan asks for the same few names)."""
    base = os.path.basename(base).lower()
    match = _ANALYSIS_NAME.fullmatch(base) if "analysis" in base else None
    if match is None:
        return None
    words = [w for w in _NAME_WORDS.split(match.group("rest")) if w]
    return "work" if "work" in words else "plain"


def era_convention(source: str) -> str:
    """Where the analysts of the file's era put a comment: "before" up to 7.0, else "after"."""
    found = _VERSION_DIR.findall(source.replace("\\", "/"))
    if not found:
        return AFTER
    major, minor = (int(x) for x in found[-1])
    return BEFORE if (major, minor) <= (7, 0) else AFTER


def parse_analysis(
    text: str | bytes, source: str = "", *, module: str | None = None, work: bool | None = None,
    convention: str | None = None,
) -> AnalysisFile:
    """Count the changes and annotations per module in an analysis file; never raises.

    ``module`` names the module of lines found before any header (default: ``""``);
    ``work`` says whether free text lines are annotations (default: from the ``source``
    file name: a work file or a hand-made copy, see :func:`preference`); ``convention`` is
    the era's ("before"/"after"; default: from the version folder in ``source``).
    """
    return AnalysisFile.from_dict(analysis_data(text, source, module=module, work=work,
                                                convention=convention))


def analysis_data(
    text: str | bytes, source: str = "", *, module: str | None = None, work: bool | None = None,
    convention: str | None = None,
) -> dict[str, Any]:
    """``parse_analysis(...).as_dict()``, made as plain data at once: what a scan keeps in
    its parse cache, and ``AnalysisFile.result_from_dict`` makes the one module it asks."""
    if work is None:
        work = preference(source) > 0 if source else False
    convention = convention or era_convention(source)
    reader = Reader(source, module or "", work, convention)
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            reader.warnings.append(
                f"{source or '<analysis>'}: not UTF-8 ({exc.reason} at byte {exc.start}); "
                "read with replacement characters"
            )
            text = text.decode("utf-8", errors="replace")
    reader.feed(text)
    counted, warnings = reader.finish()
    modules = []
    for name, c in counted.items():
        kinds, opened, tables = c.kinds, c.open, c.tables
        modules.append({
            "module": name, "fields": tables["fields"], "models": tables["models"],
            "records": tables["records"], "other": c.other, "annotated": c.annotated,
            "annotation_kinds": {k: v for k, v in kinds.items() if v} if kinds else {},
            "warnings": c.warnings[:MAX_WARNINGS],
            "open": {k: v for k, v in opened.items() if v > 0} if opened else {},
            "annotations": [
                [a.line, a.kind, shorten(a.text, 160), a.covers]
                for a in sorted(c.annotations, key=_LINE)
            ] if c.annotations else [],
            "unchanged": c.unchanged,
        })
    return {"source": source, "is_work": work, "warnings": warnings,
            "convention": convention, "modules": modules}


_LINE = operator.attrgetter("line")
