"""Wiring for the deploy commands: real Cloudflare, wrangler, probes, git, Slack and the store."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from changegate.adapters.cloudflare import CloudflareClient
from changegate.adapters.git import GitRepo
from changegate.adapters.notify import notifier_from_env
from changegate.adapters.probes import HttpProber
from changegate.adapters.store.deployments import DeploymentStore
from changegate.adapters.store.emergencies import EmergencyStore
from changegate.adapters.store.verdict_index import VerdictIndex
from changegate.adapters.wrangler import WranglerRunner
from changegate.core.deploy_record import DeploymentRecord
from changegate.core.policy import Policy
from changegate.errors import ChangegateError
from changegate.services.deploy import Change, Deployer, DeployParts, Progress
from changegate.services.deploy_change import change_for
from changegate.services.deploy_listing import join
from changegate.wiring import open_store, utc_now

ENV_REPOSITORY = "GITHUB_REPOSITORY"


@contextmanager
def deployer_for(policy: Policy, *, repo_path: str, progress: Progress | None) -> Iterator[tuple[Deployer, Callable[[str], Change]]]:
    store = open_store()
    cloudflare = CloudflareClient.from_env()
    prober = HttpProber()
    try:
        git = GitRepo(Path(repo_path))
        parts = DeployParts(deployments=DeploymentStore(store.engine), events=store, cloudflare=cloudflare,
                            wrangler=WranglerRunner.from_env(root=Path(repo_path)), prober=prober, git=git,
                            notifier=notifier_from_env(), clock=utc_now, sleep=time.sleep, emergencies=EmergencyStore(store.engine))
        repository = os.environ.get(ENV_REPOSITORY) or None
        teams = role_teams(policy, repository)

        def resolve(sha: str) -> Change:
            return change_for(sha, policy=policy, git=git, verdicts=VerdictIndex(store.engine), emergencies=EmergencyStore(store.engine),
                              repository=repository, teams=teams, at=utc_now())

        yield Deployer(policy, parts, progress=progress), resolve
    finally:
        prober.close()
        cloudflare.close()
        store.close()


def role_teams(policy: Policy, repository: str | None) -> dict[str, list[str]]:
    """Team memberships for the emergency approver roles, from GitHub when credentials are set
    (otherwise roles must name users, or an emergency cannot be confirmed: fail closed)."""
    if repository is None or not (os.environ.get("GITHUB_TOKEN") or os.environ.get("CHANGEGATE_GITHUB_TOKEN") or os.environ.get("CHANGEGATE_GITHUB_APP_ID")):
        return {}
    from changegate.services.snapshots import SnapshotSource
    from changegate.wiring import github_client

    async def fetch() -> dict[str, list[str]]:
        async with github_client(repo=repository) as github:
            return await SnapshotSource(github, clock=utc_now).role_teams(policy, owner=repository.split("/")[0])

    return asyncio.run(fetch())


def _script(policy: Policy, service: str, environment: str) -> str:
    found = policy.service(service)
    if found is None:
        raise ChangegateError(f"unknown service {service!r}: define it under `services` in the policy")
    script = found.scripts.get(environment)  # type: ignore[call-overload]
    if not script:
        raise ChangegateError(f"service {service!r} has no Worker script for {environment} (scripts.{environment})")
    return str(script)


def deployment_listing(policy: Policy, service: str, *, environment: str) -> list[dict[str, Any]]:
    script = _script(policy, service, environment)
    with open_store() as store:
        records = DeploymentStore(store.engine).find(service=service, environment=environment)
        cloudflare = CloudflareClient.from_env()
        try:
            return join(cloudflare.list_deployments(script), records)
        finally:
            cloudflare.close()


def manual_rollback(policy: Policy, service: str, *, environment: str, version: str | None, force: bool) -> str:
    script = _script(policy, service, environment)
    found = policy.service(service)
    assert found is not None
    if force and not found.allow_forced_rollback:
        raise ChangegateError(f"--force needs allow_forced_rollback: true for service {service!r} in the policy")
    cloudflare = CloudflareClient.from_env()
    try:
        target = version or cloudflare.previous_full_version(script)
        if target is None:
            raise ChangegateError(f"{script} has no earlier version at 100% to roll back to: give --to VERSION")
        cloudflare.create_deployment(script, versions=[(target, 100.0)], message="changegate rollback (manual)", force=force)
    finally:
        cloudflare.close()
    with open_store() as store:
        store.append_event(kind="deployment.manual_rollback", subject=f"{service}/{environment}", payload={"script": script, "version": target, "forced": force}, recorded_at=utc_now())
    return f"{service} on {environment} ({script}) rolled back to {target}"


def record_mobile_release(policy: Policy, service: str, *, version: str, store: str, sha: str) -> DeploymentRecord:
    found = policy.service(service)
    if found is None or found.kind != "mobile":
        raise ChangegateError(f"{service!r} is not a mobile service in the policy (kind: mobile)")
    now = utc_now()
    record = DeploymentRecord(id=f"rel-{sha[:7]}-{store}-{version}"[:40], service=service, environment="production", sha=sha, state="released",
                              started_at=now, updated_at=now, deployed_at=now, version_id=f"{store}:{version}", detail=f"submitted to the {store} store; its review is outside changegate")
    with open_store() as db:
        DeploymentStore(db.engine).create(record)
        db.append_event(kind="deployment.released", subject=f"{service}/{store}@{sha[:12]}", payload=record.event(), recorded_at=now)
    return record
