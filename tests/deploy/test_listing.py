from __future__ import annotations

import datetime as dt

from changegate.core.deploy_record import DeploymentRecord
from changegate.services.deploy_listing import join

T = dt.datetime(2026, 11, 24, tzinfo=dt.UTC)


def deployment(ident: str, message: str, version: str) -> dict[str, object]:
    return {"id": ident, "created_on": "2026-11-24T00:00:00.000000Z", "source": "wrangler", "strategy": "percentage",
            "annotations": {"workers/message": message}, "versions": [{"version_id": version, "percentage": 100}]}


def test_join_marks_deployments_changegate_did_not_make() -> None:
    record = DeploymentRecord(id="dep-0123456789ab", service="api", environment="production", sha="a" * 40, state="rolled_back",
                              started_at=T, updated_at=T, change_type="standard", change_ref="#7", version_id="v2", previous_version_id="v1")
    rows = join([deployment("d3", "changegate rollback dep-0123456789ab", "v1"), deployment("d2", "changegate dep-0123456789ab: aaaa", "v2"),
                 deployment("d1", "hotfix from my laptop", "v1")], [record])
    assert [(r["id"], r["by_changegate"], r.get("action")) for r in rows] == [("d3", True, "rollback"), ("d2", True, "deploy"), ("d1", False, None)]
    assert rows[1]["sha"] == "a" * 40 and rows[1]["change"] == "#7"
