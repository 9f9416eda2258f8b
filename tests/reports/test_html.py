from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

from changegate.core.audit_model import AuditResult
from changegate.reports import render_html
from changegate.reports.html import (
    DEPLOYS_COLOUR,
    EXCEPTION_RATE_COLOUR,
    LEAD_TIME_COLOUR,
    TYPE_COLOURS,
)
from tests.reports.builders import HOSTILE, audit_result

SVG_NS = "{http://www.w3.org/2000/svg}"


class Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def svgs(page: str) -> dict[str, ET.Element]:
    found = re.findall(r"<svg .*?</svg>", page, flags=re.S)
    return {el.attrib["id"]: el for el in map(ET.fromstring, found)}


def test_the_page_is_self_contained_and_opens_offline() -> None:
    page = render_html(audit_result())
    parser = Tags()
    parser.feed(page)
    names = {tag for tag, _ in parser.tags}
    assert not names & {"script", "link", "img", "iframe", "object", "embed"}
    for _tag, attrs in parser.tags:
        for key in ("src", "href"):
            assert not (attrs.get(key) or "").startswith(("http:", "https:", "//")), attrs
    assert "@import" not in page and "url(" not in page and "@font-face" not in page
    assert "default-src 'none'" in page


def test_everything_from_the_audit_is_escaped() -> None:
    page = render_html(audit_result())
    assert HOSTILE not in page and "<script>" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &lt;/table&gt;" in page


def test_summary_findings_and_reconciliation() -> None:
    result = audit_result()
    page = render_html(result)
    assert "Population: <strong>26</strong>" in page and "5 of 26 changes have exceptions" in page
    findings = page.split('id="findings"')[1].split("</section>")[0]
    assert "<td><code>NO_APPROVAL</code></td><td>2</td><td>merged without the approvals its type requires</td>" in findings
    assert "<code>UNLINKED_DEPLOY</code></td><td>1</td>" in findings  # from the reconciliation list
    reconciliation = page.split('id="reconciliation"')[1].split("</section>")[0]
    assert "unlinked_deployments (1)" in reconciliation and "deployment_id=dep-9f1c" in reconciliation
    assert "commits_without_pr (1)" in reconciliation


def test_four_accessible_charts_with_coloured_marks() -> None:
    charts = svgs(render_html(audit_result()))
    assert set(charts) == {"chart-changes", "chart-exception-rate", "chart-deploys", "chart-lead-time"}
    for chart_id, svg in charts.items():
        assert svg.attrib["role"] == "img"
        title, desc = svg.find(f"{SVG_NS}title"), svg.find(f"{SVG_NS}desc")
        assert title is not None and title.text and desc is not None and desc.text, chart_id
        assert svg.attrib["aria-labelledby"] == f"{title.attrib['id']} {desc.attrib['id']}"
        labels = [t.text for t in svg.iter(f"{SVG_NS}text") if t.attrib.get("class") == "axis-label"]
        assert len(labels) == 2 and "ISO week" in labels, (chart_id, labels)
        assert "2026-W40" in [t.text for t in svg.iter(f"{SVG_NS}text")]
    bars = [r for r in charts["chart-changes"].iter(f"{SVG_NS}rect") if r.attrib.get("class") == "bar"]
    assert {r.attrib["fill"] for r in bars} == set(TYPE_COLOURS.values())
    assert sum(1 for r in bars if r.attrib["fill"] == TYPE_COLOURS["emergency"]) == 2  # W43 and W44
    tips = [t.text for r in bars for t in r.iter(f"{SVG_NS}title")]
    assert "2026-W42: 1 unknown" in tips and "2026-W40: 4 standard" in tips
    points = list(charts["chart-exception-rate"].iter(f"{SVG_NS}circle"))
    assert len(points) == 6 and {c.attrib["fill"] for c in points} == {EXCEPTION_RATE_COLOUR}
    assert "2026-W42: 40% exception rate" in [t.text for c in points for t in c]
    deploys = [r for r in charts["chart-deploys"].iter(f"{SVG_NS}rect") if r.attrib.get("class") == "bar"]
    assert len(deploys) == 6 and {r.attrib["fill"] for r in deploys} == {DEPLOYS_COLOUR}
    lead = list(charts["chart-lead-time"].iter(f"{SVG_NS}circle"))
    assert len(lead) == 6 and {c.attrib["fill"] for c in lead} == {LEAD_TIME_COLOUR}


def test_change_table_has_one_row_per_change() -> None:
    result = audit_result()
    page = render_html(result)
    table = page.split('<table class="changes">')[1].split("</table>")[0]
    assert table.count("<tr>") == len(result.changes) + 1
    direct = next(c for c in result.changes if c.kind == "direct_push")
    assert f'<code title="{direct.sha}">{direct.sha[:7]}</code>' in table
    assert 'title="a commit on the branch with no pull request and no emergency record"><code>DIRECT_PUSH</code>' in table
    assert "acme/shop#130" in table and "2026-10-02T11:00+00:00" in table


def test_an_empty_audit_still_renders() -> None:
    page = render_html(AuditResult(changes=[], reconciliation={}, summary={}, dora={}, weekly=[], sample={}, generated_by={}))
    assert "no change has an exception" in page and "No findings." in page
    assert len(svgs(page)) == 4
