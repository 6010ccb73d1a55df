"""OpenUpgrade's ``apriori.py``: known renames and merges of modules and models.

The file is read with :mod:`ast`, never imported: only literal parts count. Module-level
assignments (``renamed_modules = {...}``, annotated or not), augmented forms
(``x.update({...})``, ``x |= {...}``, ``x = a | {...}``, ``{**a, ...}``, ``dict(a, k=v)``)
and the old list-of-pairs form are understood; whatever is not a literal (an import,
a computed value) is skipped with a warning.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping
from dataclasses import dataclass, field

NAMES: tuple[str, ...] = ("renamed_modules", "merged_modules", "renamed_models", "merged_models")


@dataclass(frozen=True)
class Apriori:
    """Old name -> new name, per kind; ``warnings`` say what could not be read."""

    source: str
    renamed_modules: Mapping[str, str] = field(default_factory=dict, hash=False)
    merged_modules: Mapping[str, str] = field(default_factory=dict, hash=False)
    renamed_models: Mapping[str, str] = field(default_factory=dict, hash=False)
    merged_models: Mapping[str, str] = field(default_factory=dict, hash=False)
    warnings: tuple[str, ...] = ()

    def module_target(self, module: str) -> tuple[str, str] | None:
        """``("renamed"|"merged", target)`` for an old module name, else None."""
        if module in self.renamed_modules:
            return "renamed", self.renamed_modules[module]
        if module in self.merged_modules:
            return "merged", self.merged_modules[module]
        return None


def parse_apriori(text: str | bytes, source: str) -> Apriori:
    """Read the four mappings from an apriori file's text; never raises on content."""
    warnings: list[str] = []
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            return Apriori(source=source, warnings=(f"{source}: not UTF-8 text ({exc})",))
    try:
        tree = ast.parse(text, filename=source)
    except SyntaxError as exc:
        return Apriori(
            source=source, warnings=(f"{source}: line {exc.lineno}: syntax error: {exc.msg}",)
        )
    except (ValueError, RecursionError, MemoryError) as exc:
        return Apriori(source=source, warnings=(f"{source}: not Python source ({exc})",))

    reader = _Reader(source, warnings)
    try:
        reader.statements(tree.body)
    except RecursionError:
        warnings.append(f"{source}: nesting too deep; read up to there")
    return Apriori(
        source=source,
        renamed_modules=dict(reader.found["renamed_modules"]),
        merged_modules=dict(reader.found["merged_modules"]),
        renamed_models=dict(reader.found["renamed_models"]),
        merged_models=dict(reader.found["merged_models"]),
        warnings=tuple(warnings),
    )


class _Reader:
    def __init__(self, source: str, warnings: list[str]) -> None:
        self.source = source
        self.warnings = warnings
        self.found: dict[str, dict[str, str]] = {name: {} for name in NAMES}

    def warn(self, node: ast.AST, what: str) -> None:
        self.warnings.append(f"{self.source}: line {getattr(node, 'lineno', '?')}: {what}")

    def statements(self, body: list[ast.stmt]) -> None:
        for stmt in body:
            self.statement(stmt)

    def statement(self, stmt: ast.stmt) -> None:
        if isinstance(stmt, ast.Assign):
            for target in stmt.targets:
                if isinstance(target, ast.Name) and target.id in NAMES:
                    self.assign(target.id, stmt.value, replace=True)
        elif isinstance(stmt, ast.AnnAssign):
            if isinstance(stmt.target, ast.Name) and stmt.target.id in NAMES and stmt.value:
                self.assign(stmt.target.id, stmt.value, replace=True)
        elif isinstance(stmt, ast.AugAssign):
            if isinstance(stmt.target, ast.Name) and stmt.target.id in NAMES:
                self.assign(stmt.target.id, stmt.value, replace=False)
        elif isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call):
            self.update_call(stmt.value)
        elif isinstance(stmt, ast.Try):
            # e.g. ``try: from ...apriori import renamed_modules except ImportError: x = {}``
            self.statements(stmt.body)
            for handler in stmt.handlers:
                self.statements(handler.body)
            self.statements(stmt.orelse)
            self.statements(stmt.finalbody)
        elif isinstance(stmt, ast.If):
            self.statements(stmt.body)
            self.statements(stmt.orelse)
        elif isinstance(stmt, ast.ImportFrom):
            names = [alias.asname or alias.name for alias in stmt.names]
            for name in names:
                if name in NAMES:
                    self.warn(stmt, f"{name} is imported from {stmt.module}; not read")

    def update_call(self, call: ast.Call) -> None:
        func = call.func
        if (
            isinstance(func, ast.Attribute)
            and func.attr == "update"
            and isinstance(func.value, ast.Name)
            and func.value.id in NAMES
        ):
            name = func.value.id
            for arg in call.args:
                self.assign(name, arg, replace=False)
            for keyword in call.keywords:
                self.keyword(name, keyword)

    def assign(self, name: str, value: ast.expr, *, replace: bool) -> None:
        pairs = self.pairs(name, value)
        if replace:
            self.found[name] = {}
        self.found[name].update(pairs)

    def keyword(self, name: str, keyword: ast.keyword) -> None:
        if keyword.arg is None:  # **mapping
            self.found[name].update(self.pairs(name, keyword.value))
            return
        item = self.literal(keyword.value)
        if isinstance(item, str):
            self.found[name][keyword.arg] = item
        else:
            self.warn(keyword, f"{name}: value for {keyword.arg!r} is not a string literal")

    def pairs(self, name: str, node: ast.expr) -> dict[str, str]:
        """The literal old -> new pairs an expression contributes to ``name``."""
        out: dict[str, str] = {}
        if isinstance(node, ast.Dict):
            for key, value in zip(node.keys, node.values, strict=True):
                if key is None:  # {**other, ...}
                    out.update(self.pairs(name, value))
                    continue
                self.pair(name, key, value, out)
        elif isinstance(node, ast.List | ast.Tuple | ast.Set):
            # the old form: [('old_module', 'new_module'), ...]
            for element in node.elts:
                if isinstance(element, ast.Tuple | ast.List) and len(element.elts) == 2:
                    self.pair(name, element.elts[0], element.elts[1], out)
                else:
                    self.warn(element, f"{name}: entry is not an (old, new) pair; skipped")
        elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr | ast.Add):
            out.update(self.pairs(name, node.left))
            out.update(self.pairs(name, node.right))
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and (node.func.id == "dict")
        ):
            for arg in node.args:
                out.update(self.pairs(name, arg))
            for keyword in node.keywords:
                if keyword.arg is None:
                    out.update(self.pairs(name, keyword.value))
                else:
                    item = self.literal(keyword.value)
                    if isinstance(item, str):
                        out[keyword.arg] = item
        elif isinstance(node, ast.Name) and node.id in NAMES:
            out.update(self.found[node.id])
        else:
            self.warn(node, f"{name}: {type(node).__name__.lower()} is not a literal; skipped")
        return out

    def pair(self, name: str, key: ast.expr, value: ast.expr, out: dict[str, str]) -> None:
        old, new = self.literal(key), self.literal(value)
        if isinstance(old, str) and isinstance(new, str):
            out[old] = new
        else:
            self.warn(key, f"{name}: entry is not a pair of string literals; skipped")

    @staticmethod
    def literal(node: ast.expr) -> object:
        try:
            return ast.literal_eval(node)
        except (ValueError, TypeError, SyntaxError, RecursionError, MemoryError):
            return None
