"""Atom feeds (RFC 4287): records in, the XML document out.

The document is built with ElementTree, which escapes every text and attribute it writes:
commit messages, module names and failure messages are data, never markup. Pure: no I/O.
"""

from __future__ import annotations

import re
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass

ATOM_NS = "http://www.w3.org/2005/Atom"
FEED_AUTHOR = "ouhub"
# XML 1.0 allows tab, newline, carriage return and everything from U+0020 but the surrogates
# and U+FFFE/U+FFFF: a log excerpt may hold anything else (a NUL, an escape sequence)
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_SURROGATE = re.compile("[\ud800-\udfff]")


@dataclass(frozen=True)
class FeedEntry:
    key: str  # stable and unique within the site: the entry's id derives from it
    title: str
    updated: str  # RFC 3339, e.g. 2024-05-02T10:00:00+00:00
    summary: str  # plain text
    link: str | None = None  # the page that tells more (absolute, or relative to the feed)
    category: str | None = None  # what kind of news: new, regression, fixed, coverage


@dataclass(frozen=True)
class Feed:
    key: str  # stable: the feed's id derives from it
    title: str
    updated: str  # RFC 3339: the newest entry's, or the build's when there is none
    entries: Sequence[FeedEntry]
    self_link: str | None = None
    alternate_link: str | None = None
    subtitle: str | None = None


def entry_id(key: str) -> str:
    """A stable id that is a valid URI whatever the site's address: a name-based UUID."""
    return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, 'ouhub:' + key)}"


def render_atom(feed: Feed) -> bytes:
    """The feed as a UTF-8 Atom document."""
    root = ET.Element(f"{{{ATOM_NS}}}feed")
    _text(root, "id", entry_id("feed:" + feed.key))
    _text(root, "title", feed.title)
    if feed.subtitle:
        _text(root, "subtitle", feed.subtitle)
    _text(root, "updated", feed.updated)
    author = ET.SubElement(root, f"{{{ATOM_NS}}}author")
    _text(author, "name", FEED_AUTHOR)
    if feed.self_link:
        _link(root, feed.self_link, "self", "application/atom+xml")
    if feed.alternate_link:
        _link(root, feed.alternate_link, "alternate", "text/html")
    for item in feed.entries:
        entry = ET.SubElement(root, f"{{{ATOM_NS}}}entry")
        _text(entry, "id", entry_id(item.key))
        _text(entry, "title", item.title)
        _text(entry, "updated", item.updated)
        if item.link:
            _link(entry, item.link, "alternate", "text/html")
        if item.category:
            ET.SubElement(entry, f"{{{ATOM_NS}}}category", term=_clean(item.category))
        summary = _text(entry, "summary", item.summary)
        summary.set("type", "text")
    ET.register_namespace("", ATOM_NS)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"


def _text(parent: ET.Element, tag: str, value: str) -> ET.Element:
    element = ET.SubElement(parent, f"{{{ATOM_NS}}}{tag}")
    element.text = _clean(value)
    return element


def _link(parent: ET.Element, href: str, rel: str, media: str) -> None:
    ET.SubElement(parent, f"{{{ATOM_NS}}}link", href=_clean(href), rel=rel, type=media)


def _clean(text: str) -> str:
    """Drop what XML 1.0 cannot hold at all (escaping cannot help a NUL); a lone surrogate
    becomes "?"."""
    if _NOT_XML.search(text):
        text = _NOT_XML.sub("", text)
    if _SURROGATE.search(text):
        text = _SURROGATE.sub("?", text)
    return text
