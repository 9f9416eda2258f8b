"""`changegate deployments`: the Cloudflare API's deployments joined with changegate's records.

A deployment is changegate's when its `workers/message` annotation names one of changegate's
deployment ids (deploys carry "changegate dep-…", rollbacks "changegate rollback dep-…"); any
other deployment (a dashboard edit, a manual `wrangler deploy`) is marked as not made by changegate.
"""

from __future__ import annotations

import re
from typing import Any

from changegate.core.deploy_record import DeploymentRecord

_OURS = re.compile(r"\bchangegate (?:(rollback) )?(dep-[0-9a-f]{12})\b")


def join(api: list[dict[str, Any]], records: list[DeploymentRecord]) -> list[dict[str, Any]]:
    by_id = {record.id: record for record in records}
    rows = []
    for deployment in api:
        message = (deployment.get("annotations") or {}).get("workers/message", "") or ""
        match = _OURS.search(message)
        record = by_id.get(match.group(2)) if match else None
        row: dict[str, Any] = {
            "id": deployment.get("id", ""),
            "created_on": deployment.get("created_on", ""),
            "source": deployment.get("source"),
            "author_email": deployment.get("author_email"),
            "message": message,
            "versions": [{"version_id": v.get("version_id", ""), "percentage": float(v.get("percentage", 0))} for v in deployment.get("versions", [])],
            "by_changegate": record is not None,
        }
        if record is not None:
            row.update(changegate_id=record.id, action="rollback" if match and match.group(1) else "deploy", state=record.state,
                       sha=record.sha, change_type=record.change_type, change=record.change_ref)
        rows.append(row)
    return rows
