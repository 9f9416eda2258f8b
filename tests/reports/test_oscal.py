"""The OSCAL document parses with compliance-trestle's models and passes all of trestle's validators."""

from __future__ import annotations

import copy
import datetime as dt
import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from trestle.common.err import TrestleError
from trestle.core import validator_factory
from trestle.oscal.assessment_results import AssessmentResults, Model

from changegate.core.audit_model import FINDINGS, AuditResult
from changegate.reports import render_oscal
from changegate.reports.oscal import NS
from tests.reports.builders import audit_result

NOW = dt.datetime(2026, 11, 9, 12, 0, tzinfo=dt.UTC)


def document(result: AuditResult | None = None, now: dt.datetime = NOW) -> dict[str, Any]:
    return render_oscal(result or audit_result(), now=now, title="acme/shop change management, Q4 2026")


def written(tmp_path: Path, doc: dict[str, Any]) -> Path:
    path = tmp_path / "assessment-results.json"
    path.write_text(json.dumps(doc, indent=2), "utf-8")
    return path


def test_trestle_reads_and_validates_the_document(tmp_path: Path) -> None:
    doc = document()
    Model.model_validate(doc)
    model = AssessmentResults.oscal_read(written(tmp_path, doc))
    assert isinstance(model, AssessmentResults)
    for validator in validator_factory.validator_factory.get_all():  # `trestle validate`: duplicates, links, refs
        assert validator.model_is_valid(model, True, tmp_path), validator.error_msg()
    result = model.results[0]
    selected = [c.control_id for sel in result.reviewed_controls.control_selections
                for c in getattr(sel, "include_controls", None) or []]
    assert selected == ["a.8.32"]


def test_trestle_rejects_a_broken_document(tmp_path: Path) -> None:
    doc = copy.deepcopy(document())
    del doc["assessment-results"]["results"][0]["reviewed-controls"]
    with pytest.raises(TrestleError):
        AssessmentResults.oscal_read(written(tmp_path, doc))


def test_one_observation_per_change_with_findings_plus_the_population() -> None:
    result = audit_result()
    observations = document(result)["assessment-results"]["results"][0]["observations"]
    with_findings = [c for c in result.changes if c.findings]
    assert len(observations) == 1 + len(with_findings)
    assert observations[0]["title"] == "Population of production changes"
    assert {"name": "population", "ns": NS, "value": "26"} in observations[0]["props"]
    by_sha = {p["value"]: o for o in observations[1:] for p in o["props"] if p["name"] == "sha"}
    assert set(by_sha) == {c.sha for c in with_findings}
    first = by_sha[next(c.sha for c in with_findings if c.pr == 130)]
    assert first["methods"] == ["TEST"] and first["types"] == ["finding"]
    codes = [p["value"] for p in first["props"] if p["name"] == "finding-code"]
    assert codes == ["NO_APPROVAL", "MISSING_ROLLBACK_PLAN"]
    assert {"href": "https://github.example/acme/shop/pull/130#reviews",
            "description": "NO_APPROVAL: https://github.example/acme/shop/pull/130#reviews"} in first["relevant-evidence"]


def test_a_finding_per_code_with_its_status_and_one_for_the_control() -> None:
    result = audit_result()
    results = document(result)["assessment-results"]["results"][0]
    control, *per_code = results["findings"]
    assert control["target"]["target-id"] == "a.8.32_smt"
    assert control["target"]["status"] == {"state": "not-satisfied", "reason": "fail"}
    assert len(control["related-observations"]) == len(results["observations"])
    status = {f["props"][0]["value"]: f["target"]["status"]["state"] for f in per_code}
    assert list(status) == list(FINDINGS)
    failing = {"DIRECT_PUSH", "NO_APPROVAL", "SELF_APPROVAL", "CI_NOT_GREEN", "MISSING_ROLLBACK_PLAN",
               "LATE_POSTHOC_PR", "UNLINKED_DEPLOY"}
    assert {code for code, state in status.items() if state == "not-satisfied"} == failing
    assert status["UNDEPLOYED_CHANGE"] == "satisfied"  # informational only
    no_approval = next(f for f in per_code if f["props"][0]["value"] == "NO_APPROVAL")
    assert no_approval["target"]["target-id"] == "a.8.32.no_approval"
    assert len(no_approval["related-observations"]) == 1 + 2  # the population and the two changes
    known = {o["uuid"] for o in results["observations"]}
    for finding in results["findings"]:
        assert {r["observation-uuid"] for r in finding["related-observations"]} <= known


def test_a_clean_population_satisfies_the_control(tmp_path: Path) -> None:
    result = audit_result()
    for change in result.changes:
        change.findings.clear()
        change.evidence.clear()
    result.reconciliation["unlinked_deployments"] = []
    doc = document(result)
    AssessmentResults.oscal_read(written(tmp_path, doc))
    results = doc["assessment-results"]["results"][0]
    assert len(results["observations"]) == 1
    assert {f["target"]["status"]["state"] for f in results["findings"]} == {"satisfied"}


def uuids(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [v for k, v in value.items() if k in {"uuid"}] + [u for v in value.values() for u in uuids(v)]
    if isinstance(value, list):
        return [u for v in value for u in uuids(v)]
    return []


def test_uuids_are_deterministic_v5_and_unique() -> None:
    first, again = document(), document(now=NOW + dt.timedelta(days=3))
    assert uuids(first) == uuids(again) and len(set(uuids(first))) == len(uuids(first))
    assert {uuid.UUID(u).version for u in uuids(first)} == {5}
    assert json.dumps(first, sort_keys=True) == json.dumps(document(), sort_keys=True)  # byte-for-byte on a rerun
    changed = audit_result()
    changed.changes[0].subject = "a different subject"
    other = uuids(document(changed))
    assert other[0] != uuids(first)[0]  # the document's UUID follows its content
    observations = document(changed)["assessment-results"]["results"][0]["observations"]
    same = document()["assessment-results"]["results"][0]["observations"]
    assert [o["uuid"] for o in observations[1:]] == [o["uuid"] for o in same[1:]]  # one UUID per change, across runs


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        document(now=dt.datetime(2026, 11, 9, 12, 0))
