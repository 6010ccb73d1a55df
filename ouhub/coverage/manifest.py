"""Module manifests (``__manifest__.py``, ``__openerp__.py``, ``__terp__.py``), read, never run.

A manifest is a Python dict literal. It is parsed with :mod:`ast` and evaluated with
:func:`ast.literal_eval` only, so a manifest can never execute code on the scanning
machine. Real manifests carry licence comment blocks, coding cookies, ``u''`` strings
and trailing commas; all of that is plain Python syntax and parses as is.
"""

from __future__ import annotations

import ast
import io
import tokenize
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from ouhub.errors import CoverageError
from ouhub.vocab import MANIFEST_NAMES

_FIX_HINT = "Fix the manifest so that it holds a single Python dict literal, then rescan."


class ManifestError(CoverageError):
    """A manifest that cannot be read as a dict literal; the message names its source."""


@dataclass(frozen=True)
class Manifest:
    """What a scan needs from a manifest; ``raw`` keeps the whole dict for later readers."""

    source: str
    name: str | None
    version: str | None
    depends: tuple[str, ...] = ()
    installable: bool = True
    auto_install: bool = False
    warnings: tuple[str, ...] = ()
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False, hash=False, repr=False)


def find_manifest_name(filenames: Iterable[str]) -> str | None:
    """Return the preferred manifest file name among ``filenames`` (a directory listing)."""
    present = set(filenames)
    for name in MANIFEST_NAMES:
        if name in present:
            return name
    return None


def decode_manifest(data: bytes, source: str) -> str:
    """Decode manifest bytes as Python source does: BOM, then coding cookie, else UTF-8."""
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError as exc:
        if "unknown encoding" in str(exc.msg):
            raise ManifestError(f"{source}: {exc.msg}", hint=_FIX_HINT) from exc
        encoding = "utf-8"  # bytes that are not UTF-8 and no cookie: say so below
    try:
        return data.decode(encoding)
    except (UnicodeDecodeError, LookupError) as exc:
        raise ManifestError(
            f"{source}: not valid {encoding} text ({exc})",
            hint="Save the manifest as UTF-8 (or declare its encoding), then rescan.",
        ) from exc


def parse_manifest(text: str | bytes, source: str) -> Manifest:
    """Parse a manifest's text into a :class:`Manifest`; raise :class:`ManifestError`."""
    if isinstance(text, bytes):
        text = decode_manifest(text, source)
    data = _literal_dict(text, source)
    warnings: list[str] = []

    name = data.get("name")
    if name is not None and not isinstance(name, str):
        warnings.append(f"{source}: 'name' is not a string ({type(name).__name__})")
        name = str(name)

    version = data.get("version")
    if version is not None and not isinstance(version, str):
        if isinstance(version, int | float):  # old manifests: 'version': 1.0
            version = str(version)
        else:
            warnings.append(f"{source}: 'version' is not a string ({type(version).__name__})")
            version = None

    depends = _depends(data.get("depends", ()), source, warnings)
    installable = _flag(data, "installable", True, source, warnings)
    if "auto_install" in data:
        auto_install = _flag(data, "auto_install", False, source, warnings)
    else:  # before 7.0 the key was 'active'
        auto_install = _flag(data, "active", False, source, warnings)

    return Manifest(
        source=source,
        name=name,
        version=version,
        depends=depends,
        installable=installable,
        auto_install=auto_install,
        warnings=tuple(warnings),
        raw=MappingProxyType(data),
    )


def _literal_dict(text: str, source: str) -> dict[Any, Any]:
    try:
        tree = ast.parse(text, filename=source, mode="exec")
    except SyntaxError as exc:
        where = f" line {exc.lineno}" if exc.lineno else ""
        raise ManifestError(f"{source}:{where} syntax error: {exc.msg}", hint=_FIX_HINT) from exc
    except (ValueError, RecursionError, MemoryError) as exc:  # NUL bytes, absurd nesting
        raise ManifestError(f"{source}: not Python source ({exc})", hint=_FIX_HINT) from exc

    body = [
        stmt
        for stmt in tree.body
        # a string literal before the dict is a docstring, not the manifest
        if not (
            isinstance(stmt, ast.Expr)
            and isinstance(stmt.value, ast.Constant)
            and isinstance(stmt.value.value, str)
        )
    ]
    if len(body) != 1 or not isinstance(body[0], ast.Expr):
        raise ManifestError(
            f"{source}: not a manifest: expected one dict literal, found {_describe(body)}",
            hint=_FIX_HINT,
        )
    node = body[0].value
    if not isinstance(node, ast.Dict):
        raise ManifestError(
            f"{source}: manifest is not a dict (found {_describe(body)})", hint=_FIX_HINT
        )
    try:
        value = ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, RecursionError, MemoryError) as exc:
        line = getattr(exc, "lineno", None) or node.lineno
        raise ManifestError(
            f"{source}: line {line}: manifest holds something other than literals ({exc})",
            hint="Manifests are read without running them: use only literal values.",
        ) from exc
    return value


def _describe(body: list[ast.stmt]) -> str:
    if not body:
        return "nothing"
    if len(body) > 1:
        return f"{len(body)} statements"
    stmt = body[0]
    if isinstance(stmt, ast.Expr):
        return f"a {type(stmt.value).__name__.lower()} expression"
    return f"a {type(stmt).__name__.lower()} statement"


def _depends(value: Any, source: str, warnings: list[str]) -> tuple[str, ...]:
    if isinstance(value, str):
        warnings.append(f"{source}: 'depends' is a string, read as one dependency")
        return (value,) if value else ()
    if not isinstance(value, list | tuple | set | frozenset):
        warnings.append(f"{source}: 'depends' is not a list ({type(value).__name__}); ignored")
        return ()
    out = []
    for item in value:
        if isinstance(item, str):
            out.append(item)
        else:
            warnings.append(f"{source}: 'depends' entry {item!r} is not a string; ignored")
    return tuple(out)


def _flag(
    data: Mapping[Any, Any], key: str, default: bool, source: str, warnings: list[str]
) -> bool:
    value = data.get(key, default)
    if isinstance(value, bool):
        return value
    if key == "auto_install" and isinstance(value, list | tuple):
        return True  # Odoo 13+: auto-install when these (a subset of depends) are installed
    if isinstance(value, str):
        read = value.strip().lower() not in ("", "0", "false", "no", "off", "none")
        warnings.append(f"{source}: {key!r} is a string ({value!r}); read as {read}")
        return read
    if isinstance(value, int | float | list | tuple | dict | type(None)):
        return bool(value)
    warnings.append(f"{source}: {key!r} is not a boolean ({value!r}); read as {default}")
    return default
