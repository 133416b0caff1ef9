"""The HTML page without a browser: hostile text stays text, nothing is fetched, the verdict reads right."""

from __future__ import annotations

import re
from datetime import timedelta
from html.parser import HTMLParser

from deedbox.status import build_report
from deedbox.status.page import render_html
from tests.status.conftest import HOSTILE, NOW, drill_report, put_drill

# every element the page is made of; anything else came from the bucket's text
TAGS = {"html", "head", "meta", "title", "style", "body", "header", "small", "main", "p", "code", "time",
        "span", "section", "h2", "div", "article", "h3", "dl", "dt", "dd", "svg", "g", "rect", "text", "circle",
        "polygon", "line", "table", "thead", "tbody", "tr", "th", "td", "ul", "li", "footer"}


class Elements(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: set[str] = set()
        self.attributes: set[str] = set()
        self.values: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list) -> None:
        self.tags.add(tag)
        self.attributes |= {name for name, _ in attrs}
        self.values += [value for _, value in attrs if value]

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parsed(page: str) -> Elements:
    found = Elements()
    found.feed(page)
    return found


def test_hostile_keys_and_drill_details_stay_text(config, store, history):
    hostile_key = f'drills/"><img src=x onerror=alert(1)>{HOSTILE}/report.json'
    put_drill(store, drill_report(NOW - timedelta(hours=3), failed_step="round trip", detail=f'"{HOSTILE}'), hostile_key)
    page = render_html(build_report(config, store, NOW))
    elements = parsed(page)
    assert elements.tags <= TAGS, elements.tags - TAGS
    assert not [a for a in elements.attributes if a.startswith("on") or a in ("src", "href")]
    assert "<script" not in page.lower() and "<img" not in page.lower()
    text = "".join(elements.text)
    assert text.count(HOSTILE) >= 3  # the upload's key, both drills' details: shown as the text they are
    assert "&lt;script&gt;alert(&#x27;owned&#x27;)&lt;/script&gt;" in page
    assert hostile_key in elements.values  # the row's data-key: the quote did not end the attribute


def test_the_page_is_self_contained(config, store, history):
    page = render_html(build_report(config, store, NOW))
    assert not re.search(r"https?://|\bsrc=|\bhref=|url\(|@import|<link\b", page)
    assert "Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'" in page
    assert page.count("<svg") == 1 and page.count("<style>") == 1


def test_the_verdict_says_which_classes_are_stale(config, store, history):
    page = parsed(render_html(build_report(config, store, NOW)))
    assert "STALE: media (26.0 h old, RPO 24 h)6 open findings below" in "".join(page.text)


def test_an_empty_bucket_is_stale_everywhere_and_says_what_to_run(config, store):
    text = "".join(parsed(render_html(build_report(config, store, NOW))).text)
    assert "STALE: backend (no good evidence, RPO 6 h), media (no good evidence, RPO 24 h), " \
           "secrets (no good evidence, RPO 24 h)3 open findings below" in text
    assert "no drill report in the bucket yet: run deedbox drill run" in text


def test_all_fresh(config, store, small_zip):
    from deedbox.backend.export import export_snapshot
    from deedbox.bucket.records import write_record

    export_snapshot(config, store, from_zip=small_zip, reason="scheduled", now=NOW - timedelta(hours=1))
    write_record(store, "media-sync", {"ok": True}, NOW - timedelta(hours=1))
    write_record(store, "secrets-verify", {"ok": True}, NOW - timedelta(hours=1))
    page = render_html(build_report(config, store, NOW))
    assert '<header id="verdict" class="fresh" data-fresh="true">All backups fresh<small>no open findings</small>' in page
    assert "nothing open" in "".join(parsed(page).text)
