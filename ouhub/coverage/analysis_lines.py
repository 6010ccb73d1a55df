"""The line forms of OpenUpgrade analysis files, and the one-pass reader behind
:func:`ouhub.coverage.analysis.parse_analysis` (which documents the formats).

One combined pattern walks the whole text: a match per run of record lines, per run of
field lines (both counted in bulk, at C speed), per run of section headers, per blank
stretch, per comment and per other line; only the last go through :func:`classify`
line by line. Counting and crediting use plain dicts keyed ``"<table>.<kind>"``.
(bench/coverage.py: the real 19.0 tree's analyses, 13,700 lines, parse in about a third
of the time a line-by-line state machine took.)
"""

from __future__ import annotations

import functools
import re
from typing import Any

BEFORE, AFTER = "before", "after"
MAX_WARNINGS = 50  # unknown-line warnings kept per file; the rest are summed up
MAX_ANNOTATIONS = 40  # annotations kept per module as evidence (all are counted)

# Every match starts at the "\n" before its line: the engine jumps from line to line.
# record lines as the tool writes them (others go through classify); NEW and DEL runs apart
_NEW_LINE = r"NEW [a-z0-9_.]++: \S[^\n]*+"
_DEL_LINE = r"DEL [a-z0-9_.]++: \S[^\n]*+"
_FIELD_LINE = (
    r"[^\s/#][^\s/]*+[ \t]*+/[ \t]*+[^\s/]++[ \t]*+/[ \t]*+[^\s:()/]++[ \t]*+"
    r"(?:\([^():\n]*+\))?[ \t]*+:[^\n]*+"
)
_LINES = re.compile(
    rf"\n(?:(?P<new>{_NEW_LINE}(?:\n{_NEW_LINE})*+)"
    rf"|(?P<del>{_DEL_LINE}(?:\n{_DEL_LINE})*+)"
    rf"|(?P<fields>{_FIELD_LINE}(?:\n{_FIELD_LINE})*+)"
    r"|(?P<blank>[ \t]*+(?:\n[ \t]*)*(?![^\n]))"
    r"|#(?P<comment>[^\n]*+)"
    r"|(?P<headers>--[^\n]*+(?:\n--[^\n]*+)*+)"
    r"|(?P<line>[^\n]*+))"
)
# the kind of each field line of a run, from the words after its first ":"
_FIELD_RUN_KIND = re.compile(
    r"(?mi)^[^:\n]*+:[ \t]*+(new\b|del\b|type is now\b|selection_keys\b|relation is now\b"
    r"|module is now\b|previously in module\b|needs conversion to [^\n]*?company dependent"
    r"|is now stored\b|not stored anymore\b|now a function\b|not a function anymore\b"
    r"|now related\b|not related anymore\b|now required\b|now a property\b"
    r"|not a property anymore\b|now translatable\b|not translatable anymore\b"
    r"|was renamed to\b|)[^\n]*+"
)
_FIELD_WORDS = {
    "new": "new", "del": "del", "type is now": "type", "selection_keys": "selection",
    "relation is now": "relation", "module is now": "module",
    "previously in module": "module", "is now stored": "stored",
    "not stored anymore": "not_stored", "now a function": "function",
    "not a function anymore": "not_function", "now related": "related",
    "not related anymore": "not_related", "now required": "required",
    "now a property": "property", "not a property anymore": "not_property",
    "now translatable": "translate", "not translatable anymore": "translate",
    "was renamed to": "renamed", "": "changed",
}
_FIELD_KEYS: dict[str, str] = {}  # words as written -> "fields.<kind>"
_HEADER = re.compile(
    r"^-{2,}\s*(?:(?P<section>Fields|XML\s+records|Models)\s+in\s+module\s+"
    r"['\"]?(?P<module>[^'\"]*?)['\"]?|(?:probably\s+obsolete\s+)?module\s+['\"]?"
    r"(?P<named>[^'\"\s-]+)['\"]?|(?P<bare>[^\s-][^-]*?))\s*-{2,}\s*$",
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
_INLINE_COMMENT = re.compile(r"\s+#\s*(?P<text>.*)$")
_FIELD_KINDS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (kind, re.compile(pattern, re.IGNORECASE))
    for kind, pattern in (
        ("new", r"^NEW\b"), ("del", r"^DEL\b"), ("type", r"^type is now\b"),
        ("selection", r"^selection_keys\b"), ("relation", r"^relation is now\b"),
        ("module", r"^(?:module is now\b|previously in module\b)"),
        ("company_dependent", r"^needs conversion to .*company dependent"),
        ("stored", r"^is now stored\b"), ("not_stored", r"^not stored anymore\b"),
        ("function", r"^now a function\b"), ("not_function", r"^not a function anymore\b"),
        ("related", r"^now related\b"), ("not_related", r"^not related anymore\b"),
        ("required", r"^now required\b"), ("property", r"^now a property\b"),
        ("not_property", r"^not a property anymore\b"),
        ("translate", r"^(?:now translatable|not translatable anymore)\b"),
        ("renamed", r"^was renamed to\b"), ("changed", r"^\S+ is now\b"),
    )
)
# the era's wordings, at the start of a comment (after "#", "->", ":" and the like)
_ANNOTATION_KIND = re.compile(
    r"^\W*(?:(?P<done>done\b)|(?P<nothing>nothing\s*to\s*do|nothing\s*todo|nothing\b"
    r"|no\s+changes?\b|ignored?\b)|(?P<todo>to\s*do\b|todo\b))",
    re.IGNORECASE,
)
_NOTHING_ANYWHERE = re.compile(r"\bnothing\s*to\s*do\b", re.IGNORECASE)
_STRENGTH = {"todo": 0, "note": 1, "nothing_to_do": 2, "done": 3}


@functools.lru_cache(maxsize=4096)  # "# NOTHING TO DO" comes back a thousand times a tree
def annotation_kind(text: str) -> str:
    """``done``, ``nothing_to_do``, ``todo`` or ``note`` for one comment's words."""
    match = _ANNOTATION_KIND.match(text)
    if match is not None:
        if match.group("done"):
            return "done"
        return "nothing_to_do" if match.group("nothing") else "todo"
    return "nothing_to_do" if _NOTHING_ANYWHERE.search(text) else "note"


def classify(line: str) -> tuple[str, str] | None:
    """(table, kind) of one change line, or None for a line of no known form."""
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


class Counts:
    """What is counted for one module while its lines are read."""

    __slots__ = ("tables", "other", "annotated", "kinds", "open", "annotations", "warnings",
                 "unchanged")

    def __init__(self) -> None:
        self.tables: dict[str, dict[str, int]] = {"fields": {}, "models": {}, "records": {}}
        self.other = 0
        self.annotated = 0
        self.kinds: dict[str, int] = {}
        self.open: dict[str, int] = {}  # "<table>.<kind>" -> changes no annotation answers
        self.annotations: list[Comment] = []
        self.warnings: list[str] = []
        self.unchanged: int | None = None


class Comment:
    """A run of comment lines: its strongest words, and the changes credited to it."""

    __slots__ = ("line", "kind", "text", "covers")

    def __init__(self, line: int, text: str) -> None:
        self.line, self.text, self.kind, self.covers = line, text, annotation_kind(text), 0

    def add(self, line: int, text: str) -> None:
        kind = annotation_kind(text)
        if _STRENGTH[kind] > _STRENGTH[self.kind]:  # "# TODO ..." then "# Done ...": done
            self.line, self.text, self.kind = line, text, kind


class Reader:
    """Reads a whole text; a group's annotations are resolved when the group ends (a
    blank line, another module's header, the end of the text)."""

    def __init__(self, source: str, module: str, work: bool, convention: str) -> None:
        self.source = source
        self.work = work
        self.convention = convention
        self.modules: dict[str, Counts] = {}
        self.name = module
        self.current: Counts | None = None
        self.warnings: list[str] = []
        self.dropped = 0
        # the group being read: change runs (dicts "<table>.<kind>" -> count) and comment
        # runs (Comment), alternating, in order
        self.group: list[Any] = []
        self.unanswered: dict[str, int] | None = None  # left open by the previous group
        self.carry: Comment | None = None  # a comment alone in its group, not yet used

    def counts(self) -> Counts:
        if self.current is None:
            found = self.modules.get(self.name)
            if found is None:
                found = self.modules[self.name] = Counts()
            self.current = found
        return self.current

    # -- reading -------------------------------------------------------------------------------

    def feed(self, text: str) -> None:
        if "\r" in text:
            text = text.replace("\r\n", "\n").replace("\r", "\n")
        text = "\n" + text
        count, find = text.count, text.find
        work = self.work
        number = 0
        mine = f"module '{self.name}'"  # the headers of the module being read say this
        # spans, not copies: record runs are most of a file's bytes. The commonest kinds
        # first, the commonest work inline (a method call costs as much as the line)
        for match in _LINES.finditer(text):
            kind = match.lastgroup
            number += 1
            if kind == "blank":
                if self.group:
                    self.end_group()
                number += count("\n", match.start() + 1, match.end())
            elif kind == "comment":
                words = match.group(kind).strip().lstrip("#").strip()
                if words:  # a bare "#": no words to read
                    group = self.group
                    if group and type(group[-1]) is Comment:
                        group[-1].add(number, words)
                    else:
                        group.append(Comment(number, words))
            elif kind == "headers":
                start, end = match.span(kind)
                lines = count("\n", start, end)
                if count(mine, start, end) == lines + 1:
                    number += lines  # headers of the module being read
                    if self.current is None:
                        self.counts()
                    continue
                for line in text[start:end].split("\n"):
                    self.line(number, line)
                    number += 1
                number -= 1
                mine = f"module '{self.name}'"
            elif kind == "line":
                self.line(number, match.group(kind))
            else:  # a run of record lines (NEW or DEL) or of field lines
                start, end = match.span(kind)
                lines = count("\n", start, end)
                if work and find("#", start, end) != -1:  # maybe inline comments
                    for offset, line in enumerate(text[start:end].split("\n")):
                        self.line(number + offset, line)
                else:
                    tables = (self.current or self.counts()).tables
                    if kind == "fields":
                        run = _field_run(text, start, end, tables["fields"])
                    else:
                        run = _record_run(text, start, end, kind, lines + 1, tables["records"])
                    self.changes(run)
                number += lines

    def changes(self, run: dict[str, int]) -> None:
        group = self.group
        if group and type(group[-1]) is dict:
            last = group[-1]
            for key, number in run.items():
                last[key] = last.get(key, 0) + number
        else:
            group.append(run)

    def comment(self, number: int, text: str) -> None:
        text = text.strip().lstrip("#").strip()
        if not text:
            return  # a bare "#": no words to read
        group = self.group
        if group and type(group[-1]) is Comment:
            group[-1].add(number, text)
        else:
            group.append(Comment(number, text))

    def line(self, number: int, line: str) -> None:
        line = line.strip()
        if not line:  # blanks other than spaces and tabs (a form feed, ...)
            if self.group:
                self.end_group()
            return
        first = line[0]
        if first == "#":
            self.comment(number, line)
            return
        if first == "-":
            if _NO_CHANGE.match(line):
                self.counts().unchanged = number
                return
            header = _HEADER.match(line)
            if header is not None:
                name = (header.group("module") or header.group("named")
                        or header.group("bare") or "").strip()
                if name != self.name:
                    self.end_module()
                    self.name, self.current = name, None
                self.counts()
                return
        elif first == "E" and line.startswith("ERROR: module not in list"):
            return  # the general log's note before modules absent from the analysed db
        inline = None
        if self.work and "#" in line:
            found = _INLINE_COMMENT.search(line)
            if found:
                inline = found.group("text")
                line = line[: found.start()].rstrip()
        classified = classify(line)
        if classified is not None:
            table, kind = classified
            counts = self.counts()
            counts.tables[table][kind] = counts.tables[table].get(kind, 0) + 1
            key = f"{table}.{kind}"
            if inline:  # a change answered on its own line
                note = Comment(number, inline)
                self.open({key: 1})
                self.credit(note, {key: 1})
                self.keep(note)
            else:
                self.changes({key: 1})
            return
        if self.work:
            self.comment(number, line)  # analysts' free text, e.g. "NOTHING TO DO (store=False)"
            return
        counts = self.counts()
        counts.other += 1
        message = (
            f"{self.source or '<analysis>'}:{number}: line matches no known form: {shorten(line)}"
        )
        counts.warnings.append(message)
        if len(self.warnings) < MAX_WARNINGS:
            self.warnings.append(message)
        else:
            self.dropped += 1

    # -- crediting -----------------------------------------------------------------------------

    def open(self, run: dict[str, int]) -> None:
        table = (self.current or self.counts()).open
        for key, number in run.items():
            table[key] = table.get(key, 0) + number

    def credit(self, comment: Comment, run: dict[str, int]) -> None:
        counts = self.current or self.counts()
        number = sum(run.values())
        comment.covers += number
        counts.annotated += number
        counts.kinds[comment.kind] = counts.kinds.get(comment.kind, 0) + number
        table = counts.open
        for key, answered in run.items():
            table[key] -= answered

    def keep(self, comment: Comment) -> None:
        kept = (self.current or self.counts()).annotations
        if len(kept) < MAX_ANNOTATIONS:
            kept.append(comment)

    def end_group(self) -> None:
        """Credit each change run of the group to the comment that answers it."""
        group, self.group = self.group, []
        counts = self.current or self.counts()
        if len(group) == 1:  # the commonest shapes first: changes alone, a comment alone
            item = group[0]
            if type(item) is dict:
                table = counts.open
                for key, number in item.items():
                    table[key] = table.get(key, 0) + number
                if self.carry is not None:  # a comment alone just before ("before")
                    self.credit(self.carry, item)
                    self.carry, self.unanswered = None, None
                else:
                    self.unanswered = item
                return
            if len(counts.annotations) < MAX_ANNOTATIONS:
                counts.annotations.append(item)
            if self.unanswered and self.convention == AFTER:
                self.credit(item, self.unanswered)  # about the changes just above
                self.unanswered, self.carry = None, None
                return
            if self.carry is not None and self.unanswered:
                self.credit(self.carry, self.unanswered)  # it found nothing below
                self.unanswered = None
            self.carry = item
            return
        if len(group) == 2 and self.carry is None and type(group[0]) is dict:
            run, comment = group  # changes, then their comment: opened and answered at once
            table = counts.open
            for key in run:
                table.setdefault(key, 0)
            if len(counts.annotations) < MAX_ANNOTATIONS:
                counts.annotations.append(comment)
            number = sum(run.values())
            comment.covers += number
            counts.annotated += number
            counts.kinds[comment.kind] = counts.kinds.get(comment.kind, 0) + number
            self.unanswered = None
            return
        for item in group:
            if type(item) is dict:
                self.open(item)
            else:
                self.keep(item)
        above, carry = self.unanswered, self.carry
        self.unanswered, self.carry = None, None
        if carry is not None:  # a comment alone just before: it opens this group
            group.insert(0, carry)
        first, last = type(group[0]) is Comment, type(group[-1]) is Comment
        convention = (BEFORE if first and not last else AFTER if last and not first
                      else self.convention)
        if convention == AFTER:
            pairs = [(group[i], group[i + 1]) for i in range(len(group) - 1)
                     if type(group[i]) is dict]
            left = group[-1] if not last else None
            fallback = group[0] if first else None  # a comment above, none below
        else:
            pairs = [(group[i], group[i - 1]) for i in range(1, len(group))
                     if type(group[i]) is dict]
            left = group[0] if not first else None
            fallback = group[-1] if last else None  # a comment below, none above
        for run, comment in pairs:
            self.credit(comment, run)
        if left is not None:
            if fallback is not None:
                self.credit(fallback, left)
            else:
                self.unanswered = left
        if carry is not None and not carry.covers and above:
            self.credit(carry, above)  # it was about the changes above after all

    def end_module(self) -> None:
        if self.group:
            self.end_group()
        if self.carry is not None and self.unanswered:
            self.credit(self.carry, self.unanswered)
        self.carry, self.unanswered = None, None

    def finish(self) -> tuple[dict[str, Counts], list[str]]:
        self.end_module()
        warnings = list(self.warnings)
        if self.dropped:
            warnings.append(
                f"{self.source or '<analysis>'}: {self.dropped} more lines match no known form"
            )
        return self.modules, warnings


def _record_run(text: str, start: int, end: int, kind: str, lines: int,
                table: dict[str, int]) -> dict[str, int]:
    """The kinds of a run of NEW (or DEL) record lines, also added to the module's counts."""
    if text.find("[", start, end) == -1:  # the commonest: no renamed or moved record
        table[kind] = table.get(kind, 0) + lines
        return {_RECORD_KEYS[kind]: lines}
    # renamed/moved records, marked on their line
    renamed = text.count("[renamed ", start, end)
    moved = text.count("[moved ", start, end)
    if renamed and moved:  # one line may say both: "[renamed " wins
        moved = sum(1 for line in text[start:end].split("\n")
                    if "[moved " in line and "[renamed " not in line)
    counted = {kind: lines - renamed - moved, f"{kind}_renamed": renamed,
               f"{kind}_moved": moved}
    run = {}
    for key, number in counted.items():
        if number:
            table[key] = table.get(key, 0) + number
            run[f"records.{key}"] = number
    return run


_RECORD_KEYS = {"new": "records.new", "del": "records.del"}


def _field_run(text: str, start: int, end: int, table: dict[str, int]) -> dict[str, int]:
    """The kinds of a run of field lines, also added to the module's field counts."""
    run: dict[str, int] = {}
    for words in _FIELD_RUN_KIND.findall(text, start, end):
        key = _FIELD_KEYS.get(words)
        if key is None:
            key = _field_key(words)
        run[key] = run.get(key, 0) + 1
    for key, number in run.items():
        kind = key[7:]
        table[kind] = table.get(kind, 0) + number
    return run


def _field_key(words: str) -> str:
    lowered = words.lower()
    kind = _FIELD_WORDS.get(lowered)
    if kind is None:
        kind = "company_dependent" if lowered.startswith("needs conv") else "changed"
    if len(_FIELD_KEYS) < 256:  # the tool's own words, in its own case, come back and again
        _FIELD_KEYS[words] = f"fields.{kind}"
    return f"fields.{kind}"


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


def shorten(line: str, limit: int = 120) -> str:
    return line if len(line) <= limit else line[: limit - 1] + "…"
