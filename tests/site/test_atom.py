"""Atom feeds: valid RFC 4287 as XML readers and feed readers see it, every text escaped."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import datetime

import feedparser

from ouhub.site.atom import ATOM_NS, Feed, FeedEntry, entry_id, render_atom

A = f"{{{ATOM_NS}}}"
HOSTILE = "sale <script>alert('x')</script> & \"quotes\" \x00\x1b[31m ünïcode \ud800"


def feed(*entries: FeedEntry) -> Feed:
    return Feed(key="release:7.0", title="OpenUpgrade 7.0 <failures>", updated=
                "2024-05-02T02:10:00+00:00", entries=entries, self_link="feeds/7.0.xml",
                alternate_link="releases/7.0.html", subtitle="coverage & failures")


ENTRIES = (
    FeedEntry("regression:7.0:demo61:sale:4", "sale regressed on demo61", "2024-05-02T02:00:00+00:00",
              "sale: ProgrammingError: column \"foo\" does not exist", "runs/4.html", "regression"),
    FeedEntry("hostile", HOSTILE, "2024-05-01T02:00:00+00:00", HOSTILE, "modules/x.html?a=1&b=2",
              HOSTILE),
)


def test_the_feed_is_atom_with_what_rfc_4287_requires():
    root = ET.fromstring(render_atom(feed(*ENTRIES)))
    assert root.tag == f"{A}feed"
    for parent in (root, *root.findall(f"{A}entry")):
        for tag in ("id", "title", "updated"):
            (element,) = parent.findall(f"{A}{tag}")
            assert element.text
        datetime.fromisoformat(parent.find(f"{A}updated").text)  # RFC 3339
        assert parent.find(f"{A}id").text.startswith("urn:uuid:")
    assert root.find(f"{A}author/{A}name").text == "ouhub"
    assert len(root.findall(f"{A}entry")) == 2
    links = {link.get("rel"): link.get("href") for link in root.findall(f"{A}link")}
    assert links == {"self": "feeds/7.0.xml", "alternate": "releases/7.0.html"}


def test_a_feed_reader_reads_it_back_unescaped():
    parsed = feedparser.parse(render_atom(feed(*ENTRIES)))
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert parsed.version == "atom10"
    assert parsed.feed.title == "OpenUpgrade 7.0 <failures>"
    first, hostile = parsed.entries
    assert first.title == "sale regressed on demo61" and first.link.endswith("runs/4.html")
    assert first.summary == 'sale: ProgrammingError: column "foo" does not exist'
    assert first.tags[0].term == "regression"
    assert hostile.title == "sale <script>alert('x')</script> & \"quotes\" [31m ünïcode ?"
    assert hostile.link.endswith("modules/x.html?a=1&b=2")


def test_data_is_escaped_never_markup():
    raw = render_atom(feed(*ENTRIES))
    assert b"<script>" not in raw and b"&lt;script&gt;" in raw
    assert b"\x00" not in raw and b"\x1b" not in raw
    root = ET.fromstring(raw)
    hostile = root.findall(f"{A}entry")[1]
    assert list(hostile.find(f"{A}title")) == []  # text, no child elements
    assert hostile.find(f"{A}summary").get("type") == "text"


def test_ids_are_stable_and_distinct():
    assert entry_id("a") == entry_id("a") != entry_id("b")
    first = ET.fromstring(render_atom(feed(*ENTRIES)))
    again = ET.fromstring(render_atom(feed(*ENTRIES)))
    assert [e.text for e in first.iter(f"{A}id")] == [e.text for e in again.iter(f"{A}id")]


def test_an_empty_feed_is_valid():
    parsed = feedparser.parse(render_atom(feed()))
    assert not parsed.bozo and parsed.entries == []
