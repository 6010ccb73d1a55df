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

import functools
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
_ANALYSIS_NAME = re.compile(r"(?:open)?upgrade[_ -]?analysis(?P<rest>[^/]*)\.txt")
_NAME_WORDS = re.compile(r"[\s_\-.()]+")
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
# Bulk counting of record lines (identical results to the line parser, C speed): a run
# of consecutive NEW/DEL lines, each at a line start and ending with "\n"; in _work
# files no "#" may appear in them (it could be an inline comment).
# (the leading "\n" lets the regex engine jump from line start to line start; the
# possessive quantifiers match the same lines, as no part can give characters back to the
# next, and spare the engine its backtracking bookkeeping: a third less time on 3 MB)
_RECORD_RUN = re.compile(r"\n((?:(?:NEW|DEL)[ \t]++[\w.]++[ \t]*+:[ \t]*+\S[^\n]*+\n)++)")
_WORK_RECORD_RUN = re.compile(
    r"\n((?:(?:NEW|DEL)[ \t]++[\w.]++[ \t]*+:[ \t]*+[^\s#][^\n#]*+\n)++)"
)
# characters str.splitlines() breaks lines on, besides "\n" (and "\r\n", normalised)
_ASCII_BREAKS = ("\r", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e")
_OTHER_BREAKS = ("\x85", "\u2028", "\u2029")


def _odd_breaks(text: str) -> bool:
    if any(char in text for char in _ASCII_BREAKS):
        return True
    return not text.isascii() and any(char in text for char in _OTHER_BREAKS)


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
    parser.feed_all(text)
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

    def credit(self, kind: str, count: int) -> None:
        self.annotated += count
        self.kinds[kind] += count


class _Parser:
    """Line-by-line state machine; annotations apply to the changes above them in a block.

    A block (lines between blank lines and headers) belongs to one module, so the
    changes waiting for an annotation are a count on the current module's counts.
    Written for speed: real trees hold tens of thousands of lines per release.
    """

    def __init__(self, source: str, module: str, work: bool) -> None:
        self.source = source
        self.work = work
        self.modules: dict[str, _ModuleCounts] = {}
        self.module = module
        self.current: _ModuleCounts | None = None
        self.warnings: list[str] = []
        self.dropped = 0
        self.pending = 0  # changes of this block not yet annotated
        self.leading: str | None = None  # annotation met before any change of the block
        self.run = 0  # changes credited by the current run of comment lines
        self.run_kind = ""
        self.unanswered = 0  # changes of the previous block left without annotation
        self.block_has_change = False

    def counts(self) -> _ModuleCounts:
        counts = self.current
        if counts is None:
            counts = self.modules.get(self.module)
            if counts is None:
                counts = self.modules[self.module] = _ModuleCounts()
            self.current = counts
        return counts

    def feed_all(self, text: str) -> None:
        """Feed a whole text: runs of NEW/DEL lines are counted in bulk, the rest per line."""
        original = text
        if "\r" in text:
            text = text.replace("\r\n", "\n")
        if _odd_breaks(text):  # str.splitlines would see other lines than "\n" does
            # the text as given: normalising first would join "\r\r\n" into one break
            self.feed_lines(original, 1)
            return
        runs = _WORK_RECORD_RUN if self.work else _RECORD_RUN
        text = "\n" + text  # the runs start after a "\n"; positions below are in this text
        pos, number = 1, 1
        for found in runs.finditer(text):
            start, end = found.span(1)
            if start > pos:
                self.feed_lines(text[pos:start], number)
                number += text.count("\n", pos, start)
            records = (self.current or self.counts()).records
            # counted in place (no copy of the run): the "\n" before the run starts its count
            lines = text.count("\n", start, end)
            new = text.count("\nN", start - 1, end)
            counted = {"new": new, "del": lines - new}
            if text.find("[", start, end) != -1:  # renamed/moved records, marked on their line
                chunk = text[start:end]
                renamed = _marked_lines(chunk, "[renamed ")
                moved = _marked_lines(chunk, "[moved ")
                for start, first in moved.items():
                    if start not in renamed:  # "[renamed " wins, as in _record_kind
                        base = "new" if first == "N" else "del"
                        counted[base] -= 1
                        counted[f"{base}_moved"] = counted.get(f"{base}_moved", 0) + 1
                for first in renamed.values():
                    base = "new" if first == "N" else "del"
                    counted[base] -= 1
                    counted[f"{base}_renamed"] = counted.get(f"{base}_renamed", 0) + 1
            for kind, count in counted.items():
                if count:
                    records[kind] += count
            self.pending += lines
            self.run = 0
            self.block_has_change = True
            number += lines
            pos = end
        if pos < len(text):
            self.feed_lines(text[pos:], number)

    def feed_lines(self, text: str, first_number: int) -> None:
        record = _RECORD.match
        plain = not self.work  # in _work files, "#" on a record line may be an inline comment
        for number, raw in enumerate(text.splitlines(), start=first_number):
            line = raw.strip()
            if not line:
                if self.block_has_change or self.leading is not None:
                    self.end_block()
                continue
            first = line[0]
            if first == "N" or first == "D":  # NEW/DEL record lines: most lines of a file
                match = record(line)
                if match is not None and (plain or "#" not in line):
                    rest = match.group("rest")
                    if rest and "[" in rest:
                        kind = _record_kind(match.group("kind"), rest)
                    else:
                        kind = "new" if first == "N" else "del"
                    (self.current or self.counts()).records[kind] += 1
                    self.pending += 1
                    self.run = 0
                    self.block_has_change = True
                    continue
            elif first == "#":
                self.annotate(line.lstrip("#").strip())
                continue
            elif first == "-":
                if self.header(line):
                    continue
            elif first == "E" and line.startswith("ERROR: module not in list"):
                continue  # the general log's note before modules absent from the analysed db
            self.feed(number, line)

    def header(self, line: str) -> bool:
        if _NO_CHANGE.match(line):
            self.end_block()
            self.counts()  # the module is known, with no change
            return True
        header = _HEADER.match(line)
        if header is None:
            return False
        self.end_block()
        self.unanswered = 0
        self.module = (header.group("module") or header.group("bare") or "").strip()
        self.current = None
        self.counts()
        return True

    def feed(self, number: int, line: str) -> None:
        inline = None
        if self.work and "#" in line:
            found = _INLINE_COMMENT.search(line)
            if found:
                inline = found.group("text")
                line = line[: found.start()].rstrip()
        kind_table = _classify(line)
        if kind_table is not None:
            table, kind = kind_table
            getattr(self.counts(), table)[kind] += 1
            self.pending += 1
            self.run = 0
            self.block_has_change = True
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

    def annotate(self, text: str) -> None:
        kind = _annotation_kind(text)
        if self.pending:  # the first comment below some changes
            self.run, self.run_kind = self.pending, kind
            self.counts().credit(kind, self.pending)
            self.pending = 0
        elif self.run:  # "# TODO ..." then "# Done ...": the strongest word wins
            stronger = _stronger(self.run_kind, kind)
            if stronger != self.run_kind:
                counts = self.counts()
                counts.credit(self.run_kind, -self.run)
                counts.credit(stronger, self.run)
                self.run_kind = stronger
        elif not self.block_has_change:
            self.leading = _stronger(self.leading, kind)

    def end_block(self) -> None:
        if self.pending and self.leading is not None:
            self.counts().credit(self.leading, self.pending)  # a comment above, none below
            self.pending = 0
        if self.block_has_change:
            self.unanswered = self.pending
        elif self.leading is not None and self.unanswered:
            # a block of comments only, after a blank line: it is about the changes above
            self.counts().credit(self.leading, self.unanswered)
            self.unanswered = 0
        self.pending, self.run, self.leading = 0, 0, None
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


def _classify(line: str) -> tuple[str, str] | None:
    """(counter, kind) of a change line, or None for a line of no known form."""
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


def _marked_lines(chunk: str, mark: str) -> dict[int, str]:
    """Start offset -> first letter of each line of ``chunk`` that holds ``mark``."""
    found: dict[int, str] = {}
    at = chunk.find(mark)
    while at != -1:
        start = chunk.rfind("\n", 0, at) + 1
        found[start] = chunk[start]
        end = chunk.find("\n", at)
        at = chunk.find(mark, end) if end != -1 else -1
    return found


_STRENGTH = {"todo": 0, "note": 1, "nothing_to_do": 2, "done": 3}


def _stronger(old: str | None, new: str) -> str:
    if old is None or _STRENGTH[new] > _STRENGTH[old]:
        return new
    return old


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
