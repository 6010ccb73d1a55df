"""assert_valid_hrefs, as in coverage.py's tests: every link and anchor of a built site resolves."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.refs: list[tuple[str, str]] = []  # (tag, url)
        self.ids: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name == "id" and value:
                self.ids.add(value)
            if name in ("href", "src") and value is not None:
                self.refs.append((tag, value))

    handle_startendtag = handle_starttag


def parse(path: Path) -> _Collector:
    collector = _Collector()
    collector.feed(path.read_text(encoding="utf-8"))
    return collector


def assert_valid_hrefs(site: Path) -> int:
    """Every relative href/src of every page names an existing file (and id); returns links seen."""
    site = site.resolve()
    pages = sorted(site.rglob("*.html"))
    parsed = {p: parse(p) for p in pages}
    problems, seen = [], 0
    for page, found in parsed.items():
        for tag, url in found.refs:
            seen += 1
            parts = urlsplit(url)
            if parts.scheme in ("http", "https"):
                continue
            assert not parts.scheme, f"{page}: <{tag}> has a non-http link {url!r}"
            target = (page.parent / unquote(parts.path)).resolve() if parts.path else page
            if not target.is_file() or not target.is_relative_to(site):
                problems.append(f"{page.relative_to(site)}: {url} -> missing file")
                continue
            if parts.fragment:
                ids = parsed[target].ids if target in parsed else parse(target).ids
                if unquote(parts.fragment) not in ids:
                    problems.append(f"{page.relative_to(site)}: {url} -> missing id")
    assert not problems, "broken links:\n" + "\n".join(problems[:30])
    return seen
