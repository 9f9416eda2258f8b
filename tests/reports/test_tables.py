from __future__ import annotations

import csv
import io
import json

from changegate.reports import render_csv, render_markdown
from changegate.reports.tables import CSV_FIELDS
from tests.reports.builders import HOSTILE, audit_result


def rows() -> list[dict[str, str]]:
    text = render_csv(audit_result())
    assert text.endswith("\r\n")
    return list(csv.DictReader(io.StringIO(text, newline="")))


def test_csv_has_one_row_per_change_with_the_change_log_fields() -> None:
    result = audit_result()
    table = rows()
    assert list(table[0]) == list(CSV_FIELDS)
    assert [r["sha"] for r in table] == [c.sha for c in result.changes]
    first = next(r for r in table if r["change_id"] == "acme/shop#130")
    assert first["findings"] == "NO_APPROVAL;MISSING_ROLLBACK_PLAN"
    assert json.loads(first["evidence"])["NO_APPROVAL"] == "https://github.example/acme/shop/pull/130#reviews"
    assert first["change_type"] == "significant" and first["kind"] == "squash_pr" and first["pr"] == "130"
    assert first["committed_at"] == "2026-09-30T09:00:00+00:00" and first["deployed_at"] == "2026-10-02T11:00:00+00:00"
    assert first["lead_time_seconds"] == str((50 + 4) * 3600)  # first commit 4 h before, deployed 50 h after
    assert first["sources"] == "git;github;cloudflare"
    assert json.loads(first["deployments"]) == [{"environment": "production", "id": "dep-001e"}]


def test_csv_direct_push_emergency_and_undeployed_rows() -> None:
    table = {r["sha"]: r for r in rows()}
    result = audit_result()
    direct = next(c for c in result.changes if c.kind == "direct_push")
    assert table[direct.sha]["change_id"] == direct.sha and table[direct.sha]["pr"] == ""
    assert table[direct.sha]["change_type"] == ""
    emergency = next(r for r in table.values() if r["emergency"] == "EMG-7")
    assert emergency["change_type"] == "emergency" and emergency["findings"] == "LATE_POSTHOC_PR"
    undeployed = next(r for r in table.values() if r["findings"] == "UNDEPLOYED_CHANGE")
    assert undeployed["deployed_at"] == "" and undeployed["lead_time_seconds"] == "" and undeployed["deployments"] == ""


def test_csv_neutralises_spreadsheet_formulas_and_keeps_text() -> None:
    table = rows()
    assert '\'=HYPERLINK("http://evil","x")' in [r["subject"] for r in table]
    assert HOSTILE in [r["subject"] for r in table]  # CSV is data, not markup


def test_markdown_sections_and_tables() -> None:
    text = render_markdown(audit_result())
    for heading in ("# Change management audit — acme/shop", "## Summary", "## Findings", "## Reconciliation",
                    "### unlinked\\_deployments (1)", "## DORA", "## Sample"):
        assert f"\n{heading}\n" in f"\n{text}", heading
    assert "Population: **26** changes; **5** with exceptions." in text
    assert "| `NO_APPROVAL` | 2 | merged without the approvals its type requires |" in text
    assert "| `UNLINKED_DEPLOY` | 1 | a production deployment no change explains |" in text
    assert "| 2026-W42 | 3 | 1 | 0 | 1 | 2 | 6 |" in text
    assert "| change\\_failure\\_rate | 0.08 |" in text


def test_markdown_tables_stay_rectangular_and_escaped() -> None:
    text = render_markdown(audit_result())
    assert "<script>" not in text and "&lt;script&gt;" in text
    table: list[str] = []
    for line in [*text.splitlines(), ""]:
        if line.startswith("|"):
            table.append(line)
        elif table:
            widths = {len(row.replace("\\|", "").split("|")) for row in table}
            assert len(widths) == 1, table
            table = []


def test_markdown_lists_the_sampled_changes() -> None:
    result = audit_result()
    sample = text_after(render_markdown(result), "## Sample")
    direct = next(c for c in result.changes if c.kind == "direct_push")
    assert "acme/shop#130" in sample and f"`{direct.sha[:12]}`" in sample and "acme/shop#105" in sample
    assert sample.count("\n| ") == 3 + 1 + 5  # the sample's fields, then header + three changes


def text_after(text: str, heading: str) -> str:
    return text.split(f"\n{heading}\n", 1)[1]
