"""Mistakes in a config, collected with their key path and line so the user fixes them
in one go; and the small checks every table's validation uses."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from ouhub.errors import ConfigError


def close_matches(word: str, possibilities: Any, n: int = 1) -> list[str]:
    """difflib.get_close_matches, imported only when a config has a mistake to explain
    (every command loads the config; few need the suggestions)."""
    import difflib

    return difflib.get_close_matches(word, possibilities, n=n)



class Problems:
    """Collects every mistake with its key path, so the user fixes them in one go."""

    def __init__(self, path: Path | None, text: str | None):
        self.path = path
        self.text = text or ""
        self.items: list[str] = []

    def add(self, keys: tuple, message: str) -> None:
        where = str(self.path) if self.path else "<config>"
        line = _line_of(self.text, keys)
        if line:
            where += f":{line}"
        dotted = ".".join(_quote_key(k) for k in keys)
        self.items.append(f"{where}: {dotted}: {message}" if keys else f"{where}: {message}")

    def unknown_keys(self, keys: tuple, table: dict, allowed: set[str]) -> None:
        for key in table:
            if key not in allowed:
                close = close_matches(key, sorted(allowed), n=1)
                advice = f"did you mean {close[0]!r}?" if close else (
                    "expected one of: " + ", ".join(sorted(allowed))
                )
                self.add(keys + (key,), f"unknown key; {advice}")

    def raise_if_any(self) -> None:
        if self.items:
            count = len(self.items)
            head = "1 mistake" if count == 1 else f"{count} mistakes"
            raise ConfigError(
                f"config has {head}:\n  " + "\n  ".join(self.items),
                hint="see the config reference in README.md",
            )


def _quote_key(key: Any) -> str:
    key = str(key)
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else f'"{key}"'


def _line_of(text: str, keys: tuple) -> int | None:
    """Best-effort line number of a key path in the TOML text (for messages only)."""
    if not text or not keys:
        return None
    lines = text.splitlines()
    def key_re(key: Any) -> str:
        return r'(?:"?' + re.escape(str(key)) + r'"?)'

    # Look for the deepest table header that matches a prefix of the path, then the key.
    for depth in range(len(keys), 0, -1):
        header = r"\s*\[\[?\s*" + r"\s*\.\s*".join(key_re(k) for k in keys[:depth]) + r"\s*\]\]?"
        for number, line in enumerate(lines, 1):
            if re.match(header, line):
                if depth == len(keys):
                    return number
                rest = keys[depth]
                for offset, after in enumerate(lines[number:], number + 1):
                    if re.match(r"\s*\[", after):
                        break
                    if re.match(r"\s*" + key_re(rest) + r"\s*[=.]", after):
                        return offset
                return number
    for number, line in enumerate(lines, 1):
        if re.match(r"\s*" + key_re(keys[-1]) + r"\s*=", line):
            return number
    return None


def expect(problems: Problems, keys: tuple, value: Any, kind: type | tuple, what: str) -> bool:
    if isinstance(value, bool) and kind in (int, float, (int, float)):
        problems.add(keys, f"expected {what}, got {value!r}")
        return False
    if not isinstance(value, kind):
        problems.add(keys, f"expected {what}, got {type(value).__name__} {value!r}")
        return False
    return True


def str_list(problems: Problems, keys: tuple, value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        problems.add(keys, f"expected a list of strings, got {value!r}")
        return ()
    return tuple(value)


def resolve_path(base: Path, value: str) -> Path:
    path = Path(os.path.expanduser(value))
    return path if path.is_absolute() else (base / path)
