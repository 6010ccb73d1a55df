"""OpenUpgrade analysis files: what changed per module between two releases.

Formats read (all produced by OpenUpgrade's comparison tool over the years):

* 6.1: ``---base---`` headers; field lines ``base / ir.actions.client / name (char) :
  NEW required: required``; record lines ``deleted xml-id of model ir.ui.view:
  base.values_view_form`` / ``new xml-id of model res.country: base.ax``.
* 7.0 on: ``---Fields in module 'x'---``, ``---XML records in module 'x'---``,
  ``---Models in module 'x'---`` sections; record lines ``NEW model: xmlid``,
  ``DEL model: xmlid``, ``model: xmlid (noupdate) (noupdate switched)``; model lines
  ``new model X [abstract]``, ``obsolete model X (renamed to Y) [module Z]``.
* ``_work`` files: the same lines, annotated by contributors with ``# DONE: ...``,
  ``# NOTHING TO DO``, ``# TODO`` or free text below the changes they are about.

Parsing never fails: a line matching no known form is counted as ``other`` and
reported as a warning (with its line number).
"""

from __future__ import annotations

import os
import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field

#: How many unknown-line warnings are kept per file; the rest are summed up in one line.
MAX_WARNINGS = 50

_HEADER = re.compile(
    r"^-{2,}\s*(?:(?P<section>Fields|XML\s+records|Models)\s+in\s+module\s+"
    r"['\"]?(?P<module>[^'\"]*?)['\"]?|(?P<bare>[^\s-][^-]*?))\s*-{2,}\s*$",
    re.IGNORECASE,
)
_NO_CHANGE = re.compile(r"^-+\s*nothing has changed in this module\s*-*$", re.IGNORECASE)
_FIELD = re.compile(
    r"^(?P<module>[^\s/]+)\s*/\s*(?P<model>[^\s/]+)\s*/\s*(?P<field>[^\s:()/]+)"
    r"\s*(?:\((?P<type>[^()]*)\))?\s*:\s*(?P<desc>.*)$"
)
_RECORD_OLD = re.compile(
    r"^(?P<kind>new|deleted)\s+xml-id\s+of\s+model\s+(?P<model>\S+?)\s*:\s*(?P<xmlid>\S+)",
    re.IGNORECASE,
)
_RECORD = re.compile(r"^(?P<kind>NEW|DEL)\s+(?P<model>[\w.]+)\s*:\s*(?P<xmlid>\S+)(?P<rest>.*)$")
# without NEW/DEL, a record line only says that an existing record changed
_RECORD_CHANGED = re.compile(
    r"^(?P<model>\w+(?:\.\w+)+)\s*:\s*(?P<xmlid>\S+)(?P<rest>.*"
    r"\((?:noupdate switched|deleted domain|changed definition).*)$"
)
_MODEL = re.compile(
    r"^(?P<kind>new|obsolete)?\s*model\s+(?P<model>[\w.]+)\s*(?P<rest>.*)$", re.IGNORECASE
)
_ANNOTATION_KIND = re.compile(
    r"^\W*(?:(?P<done>done)|(?P<nothing>nothing\s*to\s*do|nothing\s*todo|no\s+changes?"
    r"|nothing\b)|(?P<todo>to\s*do|todo))",
    re.IGNORECASE,
)
_INLINE_COMMENT = re.compile(r"\s+#\s*(?P<text>.*)$")

# field descriptions, tested in order; the first match gives the kind of change
_FIELD_KINDS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (kind, re.compile(pattern, re.IGNORECASE))
    for kind, pattern in (
        ("new", r"^NEW\b"),
        ("del", r"^DEL\b"),
        ("type", r"^type is now\b"),
        ("selection", r"^selection_keys\b"),
        ("relation", r"^relation is now\b"),
        ("module", r"^(?:module is now\b|previously in module\b)"),
        ("company_dependent", r"^needs conversion to .*company dependent"),
        ("stored", r"^is now stored\b"),
        ("not_stored", r"^not stored anymore\b"),
        ("function", r"^now a function\b"),
        ("not_function", r"^not a function anymore\b"),
        ("related", r"^now related\b"),
        ("not_related", r"^not related anymore\b"),
        ("required", r"^now required\b"),
        ("property", r"^now a property\b"),
        ("not_property", r"^not a property anymore\b"),
        ("translate", r"^(?:now translatable|not translatable anymore)\b"),
        ("renamed", r"^was renamed to\b"),
        ("changed", r"^\S+ is now\b"),
    )
)


@dataclass(frozen=True)
class ModuleAnalysis:
    """Counts of one module's changes in one analysis file.

    ``fields``/``models``/``records`` map a kind of change (``new``, ``del``, ``type``,
    ``renamed``, ...) to its count. ``annotated`` counts changes that carry a
    contributor annotation; ``annotation_kinds`` splits them by the annotation's word
    (``done``, ``nothing_to_do``, ``todo``, ``note``). ``other`` counts lines in the
    module's sections that match no known form.
    """

    module: str
    fields: Mapping[str, int] = field(default_factory=dict, hash=False)
    models: Mapping[str, int] = field(default_factory=dict, hash=False)
    records: Mapping[str, int] = field(default_factory=dict, hash=False)
    other: int = 0
    annotated: int = 0
    annotation_kinds: Mapping[str, int] = field(default_factory=dict, hash=False)
    warnings: tuple[str, ...] = ()

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
        return self.field_changes + self.model_changes + self.record_changes

    @property
    def analysed_share(self) -> float:
        """Share of changes annotated with something else than a bare TODO (1.0 if none)."""
        if not self.total:
            return 1.0
        analysed = self.annotated - self.annotation_kinds.get("todo", 0)
        return max(0.0, min(1.0, analysed / self.total))


@dataclass(frozen=True)
class AnalysisFile:
    """One analysis file: its modules, in the order they appear, and its warnings."""

    source: str
    is_work: bool
    modules: Mapping[str, ModuleAnalysis] = field(default_factory=dict, hash=False)
    warnings: tuple[str, ...] = ()

    @property
    def total(self) -> int:
        return sum(m.total for m in self.modules.values())

    @property
    def other(self) -> int:
        return sum(m.other for m in self.modules.values())


def is_openupgrade_analysis_file(name: str) -> bool:
    """True for ``openupgrade_analysis.txt``, ``upgrade_analysis.txt`` and their variants."""
    return _analysis_name(name) is not None


def is_work(name: str) -> bool:
    """True for the annotated variants (``upgrade_analysis_work.txt``, ``... work.txt``)."""
    return _analysis_name(name) == "work"


def is_general_log(name: str) -> bool:
    """True for the comparison's general log (``upgrade_general_log.txt`` and older names)."""
    base = os.path.basename(name).lower()
    return bool(re.fullmatch(r"(?:open)?upgrade[_ -]?general[_ -]?log.*\.txt", base))


def _analysis_name(name: str) -> str | None:
    base = os.path.basename(name).lower()
    match = re.fullmatch(r"(?:open)?upgrade[_ -]?analysis(?P<rest>[^/]*)\.txt", base)
    if match is None:
        return None
    words = [w for w in re.split(r"[\s_\-.()]+", match.group("rest")) if w]
    return "work" if "work" in words else "plain"


def parse_analysis(
    text: str | bytes, source: str = "", *, module: str | None = None, work: bool | None = None
) -> AnalysisFile:
    """Count the changes per module in an analysis file's text; never raises on content.

    ``module`` names the module of lines found before any header (default: ``""``);
    ``work`` says whether free text lines are contributor annotations (default: from
    the ``source`` file name).
    """
    if work is None:
        work = is_work(source) if source else False
    parser = _Parser(source, module or "", work)
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            parser.warnings.append(
                f"{source or '<analysis>'}: not UTF-8 ({exc.reason} at byte {exc.start}); "
                "read with replacement characters"
            )
            text = text.decode("utf-8", errors="replace")
    for number, line in enumerate(text.splitlines(), start=1):
        parser.feed(number, line)
    return parser.finish()


class _ModuleCounts:
    __slots__ = ("fields", "models", "records", "other", "annotated", "kinds", "warnings")

    def __init__(self) -> None:
        self.fields: Counter[str] = Counter()
        self.models: Counter[str] = Counter()
        self.records: Counter[str] = Counter()
        self.other = 0
        self.annotated = 0
        self.kinds: Counter[str] = Counter()
        self.warnings: list[str] = []


class _Parser:
    """Line-by-line state machine; annotations apply to the changes above them in a block."""

    def __init__(self, source: str, module: str, work: bool) -> None:
        self.source = source
        self.work = work
        self.modules: dict[str, _ModuleCounts] = {}
        self.module = module
        self.section = ""
        self.warnings: list[str] = []
        self.dropped = 0
        self.pending: list[_ModuleCounts] = []  # changes not yet annotated, in this block
        self.leading: str | None = None  # annotation met before any change of the block
        self.run: list[_ModuleCounts] = []  # changes credited by the current comment run
        self.run_kind = ""
        self.unanswered: list[_ModuleCounts] = []  # previous block's changes left bare
        self.block_has_change = False

    def counts(self) -> _ModuleCounts:
        counts = self.modules.get(self.module)
        if counts is None:
            counts = self.modules[self.module] = _ModuleCounts()
        return counts

    def feed(self, number: int, raw: str) -> None:
        line = raw.strip()
        if not line:
            self.end_block()
            return
        if line.startswith("ERROR: module not in list"):
            return  # the general log's note before modules absent from the analysed db
        if line.startswith("-") and _NO_CHANGE.match(line):
            self.end_block()
            self.counts()  # the module is known, with no change
            return
        header = _HEADER.match(line)
        if header:
            self.end_block()
            self.unanswered = []
            self.module = (header.group("module") or header.group("bare") or "").strip()
            self.section = (header.group("section") or "").lower()
            self.counts()
            return
        if line.startswith("#"):
            self.annotate(line.lstrip("#").strip())
            return
        inline = None
        if self.work and "#" in line:
            found = _INLINE_COMMENT.search(line)
            if found:
                inline = found.group("text")
                line = line[: found.start()].rstrip()
        if self.change(line):
            if inline is not None:
                self.annotate(inline)
            return
        if self.work:
            self.annotate(line)  # contributors' free text, e.g. "NOTHING TO DO (store=False)"
            return
        counts = self.counts()
        counts.other += 1
        message = (
            f"{self.source or '<analysis>'}:{number}: line matches no known form: {_shorten(line)}"
        )
        counts.warnings.append(message)
        if len(self.warnings) < MAX_WARNINGS:
            self.warnings.append(message)
        else:
            self.dropped += 1

    def change(self, line: str) -> bool:
        kind_table = self.classify(line)
        if kind_table is None:
            return False
        table, kind = kind_table
        counts = self.counts()
        getattr(counts, table)[kind] += 1
        self.pending.append(counts)
        self.run = []
        self.block_has_change = True
        return True

    def classify(self, line: str) -> tuple[str, str] | None:
        first = line[:1]
        if first == "N" or first == "D":
            match = _RECORD.match(line)
            if match:
                return "records", _record_kind(match.group("kind"), match.group("rest"))
        match = _FIELD.match(line)
        if match:
            return "fields", _field_kind(match.group("desc"))
        lowered = line[:20].lower()
        if lowered.startswith(("new xml-id", "deleted xml-id")):
            match = _RECORD_OLD.match(line)
            if match:
                return "records", "new" if match.group("kind").lower() == "new" else "del"
        if "model" in lowered:
            match = _MODEL.match(line)
            if match and (match.group("kind") or "(moved " in match.group("rest")):
                return "models", _model_kind(match.group("kind"), match.group("rest"))
        match = _RECORD_CHANGED.match(line)
        if match:
            rest = match.group("rest")
            return "records", "noupdate_switched" if "noupdate switched" in rest else "changed"
        return None

    def annotate(self, text: str) -> None:
        kind = _annotation_kind(text)
        if self.pending:  # the first comment below some changes
            self.run, self.run_kind = self.pending, kind
            _credit(self.run, kind, 1)
            self.pending = []
        elif self.run:  # "# TODO ..." then "# Done ...": the strongest word wins
            stronger = _stronger(self.run_kind, kind)
            if stronger != self.run_kind:
                _credit(self.run, self.run_kind, -1)
                _credit(self.run, stronger, 1)
                self.run_kind = stronger
        elif not self.block_has_change:
            self.leading = _stronger(self.leading, kind)

    def end_block(self) -> None:
        if self.pending and self.leading is not None:
            _credit(self.pending, self.leading, 1)  # a comment above, none below
            self.pending = []
        if self.block_has_change:
            self.unanswered = self.pending
        elif self.leading is not None and self.unanswered:
            # a block of comments only, after a blank line: it is about the changes above
            _credit(self.unanswered, self.leading, 1)
            self.unanswered = []
        self.pending, self.run, self.leading = [], [], None
        self.block_has_change = False

    def finish(self) -> AnalysisFile:
        self.end_block()
        warnings = list(self.warnings)
        if self.dropped:
            warnings.append(
                f"{self.source or '<analysis>'}: {self.dropped} more lines match no known form"
            )
        modules = {
            name: ModuleAnalysis(
                module=name,
                fields=dict(c.fields),
                models=dict(c.models),
                records=dict(c.records),
                other=c.other,
                annotated=c.annotated,
                annotation_kinds={k: v for k, v in c.kinds.items() if v},
                warnings=tuple(c.warnings[:MAX_WARNINGS]),
            )
            for name, c in self.modules.items()
        }
        return AnalysisFile(
            source=self.source, is_work=self.work, modules=modules, warnings=tuple(warnings)
        )


_STRENGTH = {"todo": 0, "note": 1, "nothing_to_do": 2, "done": 3}


def _stronger(old: str | None, new: str) -> str:
    if old is None or _STRENGTH[new] > _STRENGTH[old]:
        return new
    return old


def _credit(changes: list[_ModuleCounts], kind: str, sign: int) -> None:
    for counts in changes:
        counts.annotated += sign
        counts.kinds[kind] += sign


def _field_kind(desc: str) -> str:
    desc = desc.strip()
    for kind, pattern in _FIELD_KINDS:
        if pattern.match(desc):
            return kind
    return "changed"


def _record_kind(prefix: str, rest: str) -> str:
    base = "new" if prefix == "NEW" else "del"
    if "[renamed " in rest:
        return f"{base}_renamed"
    if "[moved " in rest:
        return f"{base}_moved"
    return base


def _model_kind(prefix: str | None, rest: str) -> str:
    if "(renamed " in rest:
        return "renamed"
    if "(merged " in rest:
        return "merged"
    if prefix is None or "(moved " in rest:
        return "moved"
    return "new" if prefix.lower() == "new" else "del"


def _annotation_kind(text: str) -> str:
    match = _ANNOTATION_KIND.match(text)
    if match is None:
        return "note"
    if match.group("done"):
        return "done"
    if match.group("nothing"):
        return "nothing_to_do"
    return "todo"


def _shorten(line: str, limit: int = 120) -> str:
    return line if len(line) <= limit else line[: limit - 1] + "…"
