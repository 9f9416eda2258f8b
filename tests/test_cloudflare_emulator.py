"""The Cloudflare emulator answers as Cloudflare's API does, checked with the real wrangler 4.86.0
(deploy, rollback, versions upload/deploy, deployments list/status) and with plain HTTP for the
shapes, validation, knobs and GraphQL analytics; plus `wrangler dev` serving the test Worker."""

from __future__ import annotations

import datetime as dt
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.cloudflare_emulator import CloudflareEmulator, Wrangler
from tests.cloudflare_emulator.dev import session_pids
from tests.cloudflare_emulator.fixtures import cloudflare, worker_dev, wrangler, wrangler_bin
from tests.cloudflare_emulator.wrangler import INSTALL_SCRIPT, copy_worker

__all__ = ["cloudflare", "worker_dev", "wrangler", "wrangler_bin"]  # fixtures used by name below

WORKER = "changegate-ts-worker"
SCRIPT = f"/accounts/acc/workers/scripts/{WORKER}"
STAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return copy_worker("ts-worker", tmp_path)


@pytest.fixture
def live(cloudflare: CloudflareEmulator) -> tuple[str, str]:
    """WORKER with two versions; the second one is at 100%. Returns (v1, v2)."""
    v1 = cloudflare.add_version(WORKER, message="one", tag="sha-1")
    cloudflare.deploy(WORKER, [(v1, 100)], message="deploy one")
    v2 = cloudflare.add_version(WORKER, message="two", tag="sha-2")
    cloudflare.deploy(WORKER, [(v2, 100)], message="deploy two")
    return v1, v2


def paths(cf: CloudflareEmulator, since: int = 0) -> list[str]:
    return [f"{c.method} {c.path.removeprefix('/client/v4')}" + (f"?{c.query}" if c.query else "")
            for c in cf.requests[since:]]


# -- the real wrangler ----------------------------------------------------------------------------
def test_wrangler_deploy_creates_then_updates_a_worker(cloudflare: CloudflareEmulator, wrangler: Wrangler,
                                                        project: Path) -> None:
    first = wrangler.run("deploy", "--env", "", "--message", "first", cwd=project)
    assert first.returncode == 0, first.stderr
    record = first.record("deploy")
    assert record["worker_name"] == WORKER and record["worker_tag"] is None
    assert paths(cloudflare) == [
        f"GET /accounts/acc/workers/services/{WORKER}", f"GET {SCRIPT}/deployments", f"GET {SCRIPT}/settings",
        f"PUT {SCRIPT}?excludeScript=true&bindings_inherit=strict", f"PATCH {SCRIPT}/script-settings",
        "GET /accounts/acc/workers/subdomain", f"GET {SCRIPT}/subdomain", f"POST {SCRIPT}/subdomain"]
    assert [c.status for c in cloudflare.requests[:3]] == [404, 404, 404]
    current = cloudflare.current(WORKER)
    assert current is not None and current.versions == [(record["version_id"], 100)]
    version = cloudflare.version(WORKER, record["version_id"])
    assert "Response" in version.modules[version.main_module] and version.message == "first"
    assert {b["name"]: b["text"] for b in version.bindings()} == {"MODE": "healthy", "VERSION": "dev"}

    cloudflare.fail_next(1, path="/versions")  # wrangler retries the upload (no back-off the first time)
    since = len(cloudflare.requests)
    second = wrangler.run("deploy", "--env", "", "--message", "second", cwd=project)
    assert second.returncode == 0, second.stderr
    record = second.record("deploy")
    assert record["worker_tag"] == cloudflare.state.scripts[WORKER].tag
    assert paths(cloudflare, since)[:6] == [
        f"GET /accounts/acc/workers/services/{WORKER}", f"GET {SCRIPT}/deployments", f"GET {SCRIPT}/settings",
        f"POST {SCRIPT}/versions?bindings_inherit=strict", f"POST {SCRIPT}/versions?bindings_inherit=strict",
        f"POST {SCRIPT}/deployments"]
    newest = cloudflare.deployments(WORKER)[0]
    assert newest.versions == [(record["version_id"], 100)] and newest.message == "second"
    assert newest.source == "wrangler" and cloudflare.version(WORKER, record["version_id"]).number == 2
    assert cloudflare.unknown_routes == []


def test_wrangler_deploy_env_sandbox_targets_the_sandbox_worker(cloudflare: CloudflareEmulator,
                                                                 wrangler: Wrangler, project: Path) -> None:
    done = wrangler.run("deploy", "--env", "sandbox", cwd=project)
    assert done.returncode == 0, done.stderr
    assert done.record("deploy")["worker_name"] == f"{WORKER}-sandbox"
    assert list(cloudflare.state.scripts) == [f"{WORKER}-sandbox"]
    version = cloudflare.version(f"{WORKER}-sandbox", done.record("deploy")["version_id"])
    assert {b["name"]: b["text"] for b in version.bindings()}["VERSION"] == "sandbox"


def test_wrangler_rollback_picks_the_previous_full_version(cloudflare: CloudflareEmulator, wrangler: Wrangler,
                                                           live: tuple[str, str]) -> None:
    v1, _ = live
    done = wrangler.run("rollback", "--name", WORKER, "--message", "error rate 7% > 2%")
    assert done.returncode == 0, done.stderr
    assert f"Current Version ID: {v1}" in done.stdout
    posts = cloudflare.calls("POST", "/deployments")
    assert [c.body for c in posts] == [{"strategy": "percentage", "versions": [{"version_id": v1, "percentage": 100}],
                                        "annotations": {"workers/message": "error rate 7% > 2%"}}]
    current = cloudflare.current(WORKER)
    assert current is not None and current.versions == [(v1, 100)] and current.message == "error rate 7% > 2%"


def test_wrangler_rollback_forces_past_changed_secrets(cloudflare: CloudflareEmulator, wrangler: Wrangler,
                                                       live: tuple[str, str]) -> None:
    v1, _ = live
    cloudflare.secrets_changed(WORKER, v1, ["API_KEY", "DB_URL"])
    done = wrangler.run("rollback", "--name", WORKER)
    assert done.returncode == 0, done.stderr
    assert "* API_KEY" in done.stdout and "* DB_URL" in done.stdout
    assert [(c.query, c.status) for c in cloudflare.calls("POST", "/deployments")] == [("", 400), ("force=true", 200)]
    current = cloudflare.current(WORKER)
    assert current is not None and current.versions == [(v1, 100)] and current.message == "Rollback"


def test_wrangler_rollback_refused_by_the_api(cloudflare: CloudflareEmulator, wrangler: Wrangler,
                                              live: tuple[str, str]) -> None:
    v1, v2 = live
    cloudflare.refuse_deployments(WORKER, code=10215, message="Rollback refused: a bound R2 bucket was deleted")
    done = wrangler.run("rollback", v1, "--name", WORKER)
    assert done.returncode == 1
    assert "Rollback refused: a bound R2 bucket was deleted [code: 10215]" in done.stderr
    assert done.record("command-failed")["code"] == 10215
    current = cloudflare.current(WORKER)
    assert current is not None and current.versions == [(v2, 100)]


def test_wrangler_versions_upload_then_split_deploy(cloudflare: CloudflareEmulator, wrangler: Wrangler,
                                                    live: tuple[str, str], project: Path) -> None:
    _, v2 = live
    upload = wrangler.run("versions", "upload", "--env", "", "--tag", "sha-abc", "--message", "canary", cwd=project)
    assert upload.returncode == 0, upload.stderr
    new = upload.record("version-upload")["version_id"]
    version = cloudflare.version(WORKER, new)
    assert version.number == 3 and version.tag == "sha-abc" and version.message == "canary"
    current = cloudflare.current(WORKER)
    assert current is not None and current.versions == [(v2, 100)]  # uploaded, not deployed

    split = wrangler.run("versions", "deploy", f"{new}@10%", f"{v2}@90%", "-y", "--message", "canary 10%",
                         "--name", WORKER)
    assert split.returncode == 0, split.stderr
    record = split.record("version-deploy")
    assert record["version_traffic"] == {}  # a JS Map: useless, as documented
    current = cloudflare.current(WORKER)
    assert current is not None and current.id == record["deployment_id"]
    assert current.versions == [(new, 10), (v2, 90)] and current.message == "canary 10%"


def test_wrangler_json_listings(cloudflare: CloudflareEmulator, wrangler: Wrangler, live: tuple[str, str]) -> None:
    v1, v2 = live
    listed = wrangler.run("deployments", "list", "--json", "--name", WORKER)
    assert listed.returncode == 0, listed.stderr
    assert [d["versions"][0]["version_id"] for d in listed.json()] == [v1, v2]  # oldest first, unlike the API
    assert listed.json()[1] == cloudflare.deployments(WORKER)[0].render()
    status = wrangler.run("deployments", "status", "--json", "--name", WORKER)
    assert status.json()["versions"] == [{"version_id": v2, "percentage": 100}]
    versions = wrangler.run("versions", "list", "--json", "--name", WORKER)
    assert [v["id"] for v in versions.json()] == [v1, v2]
    assert cloudflare.calls("GET", "/versions")[0].query == "deployable=true"


@pytest.mark.usefixtures("live")
def test_wrangler_fails_cleanly_when_the_api_fails(cloudflare: CloudflareEmulator, wrangler: Wrangler,
                                                   wrangler_bin: Path) -> None:
    cloudflare.fail_next(1, path="/deployments", status=503)
    failed = wrangler.run("deployments", "list", "--name", WORKER)
    assert failed.returncode == 1 and "[code: 10013]" in failed.stderr
    assert failed.record("command-failed")["code"] == 10013

    unreachable = Wrangler(wrangler_bin, wrangler.home, base_url="http://127.0.0.1:9/client/v4")
    failed = unreachable.run("rollback", "--name", WORKER)
    assert failed.returncode == 1 and "fetch failed" in failed.stderr
    assert failed.record("command-failed")["message"] == "fetch failed"


# -- wrangler dev -----------------------------------------------------------------------------------
@pytest.mark.parametrize(("mode", "health", "version"), [
    ("healthy", (200, "ok"), {"ok": True, "version": "v7"}),
    ("broken", (500, "broken"), {"ok": False, "version": "v7"}),
])
def test_worker_dev_serves_the_test_worker(worker_dev: Any, mode: str, health: tuple[int, str],
                                           version: dict[str, Any]) -> None:
    server = worker_dev(mode=mode, version="v7")
    with server as base_url:
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", base_url)
        answer = httpx.get(base_url + "/health")
        assert (answer.status_code, answer.text) == health
        assert httpx.get(base_url + "/version").json() == version
        assert server.process is not None
        leader = server.process.pid
        assert len(session_pids(leader)) >= 3  # node, esbuild, workerd...
    assert session_pids(leader) == []  # the whole tree is gone


# -- shapes, validation, knobs (plain HTTP) ------------------------------------------------------------
def test_auth_envelope_and_unknown_routes(cloudflare: CloudflareEmulator) -> None:
    anonymous = httpx.get(cloudflare.base_url + f"{SCRIPT}/deployments")
    assert anonymous.status_code == 401
    assert anonymous.json() == {"success": False, "errors": [{"code": 10000, "message": "Authentication error"}],
                                "messages": [], "result": None}
    with cloudflare.client() as api:
        assert api.get("/accounts/other/workers/scripts/x/deployments").status_code == 403
        service = api.get(f"/accounts/acc/workers/services/{WORKER}")
        assert service.status_code == 404 and service.json()["errors"][0]["code"] == 10090
        missing = api.get(f"{SCRIPT}/deployments")
        assert missing.status_code == 404 and missing.json()["errors"][0]["code"] == 10007
        other = api.get("/accounts/acc/workers/scripts/x/schedules")
        assert other.json() == {"success": True, "errors": [], "messages": [], "result": {}}
    assert cloudflare.unknown_routes == ["GET /client/v4/accounts/acc/workers/scripts/x/schedules"]
    assert [c.status for c in cloudflare.requests] == [401, 403, 404, 404, 200]


def test_deployment_and_version_shapes(cloudflare: CloudflareEmulator, live: tuple[str, str]) -> None:
    v1, v2 = live
    with cloudflare.client() as api:
        listed = api.get(f"{SCRIPT}/deployments").json()["result"]["deployments"]
        version = api.get(f"{SCRIPT}/versions/{v2}").json()["result"]
        items = api.get(f"{SCRIPT}/versions", params={"deployable": "true"}).json()["result"]["items"]
        page = api.get(f"{SCRIPT}/versions", params={"per_page": 1, "page": 2}).json()
        one = api.get(f"{SCRIPT}/deployments/{listed[1]['id']}").json()["result"]
    assert [d["versions"] for d in listed] == [[{"version_id": v2, "percentage": 100}],
                                               [{"version_id": v1, "percentage": 100}]]
    assert set(listed[0]) == {"id", "created_on", "source", "strategy", "author_email", "annotations", "versions"}
    assert UUID.match(listed[0]["id"]) and STAMP.match(listed[0]["created_on"]) and one == listed[1]
    assert listed[0]["annotations"] == {"workers/triggered_by": "deployment", "workers/message": "deploy two"}
    assert version["number"] == 2 and STAMP.match(version["metadata"]["created_on"])
    assert version["annotations"] == {"workers/triggered_by": "upload", "workers/message": "two", "workers/tag": "sha-2"}
    assert version["resources"]["script_runtime"]["compatibility_date"] == "2025-01-01"
    assert [i["id"] for i in items] == [v2, v1]
    assert [i["id"] for i in page["result"]["items"]] == [v1] and page["result_info"]["total_count"] == 2


@pytest.mark.parametrize(("versions", "strategy", "status", "needle"), [
    ([], "percentage", 400, "1 or 2 versions"),
    ([("A", 40), ("B", 40), ("A", 20)], "percentage", 400, "1 or 2 versions"),
    ([("A", 50), ("A", 50)], "percentage", 400, "only once"),
    ([("A", 60), ("B", 30)], "percentage", 400, "add up to 100"),
    ([("A", 100), ("B", 0)], "percentage", 400, "between 0.01 and 100"),
    ([("A", 100)], "immediate", 400, "strategy"),
    ([("nope", 100)], "percentage", 404, "not found"),
])
def test_create_deployment_validation(cloudflare: CloudflareEmulator, live: tuple[str, str],
                                      versions: list[tuple[str, float]], strategy: str, status: int, needle: str) -> None:
    ids = dict(zip("AB", live, strict=True))
    body = {"strategy": strategy, "versions": [{"version_id": ids.get(v, v), "percentage": p} for v, p in versions]}
    before = cloudflare.deployments(WORKER)
    with cloudflare.client() as api:
        answer = api.post(f"{SCRIPT}/deployments", json=body)
    assert answer.status_code == status and answer.json()["success"] is False
    assert needle in answer.json()["errors"][0]["message"]
    assert cloudflare.deployments(WORKER) == before


def test_create_deployment_knobs(cloudflare: CloudflareEmulator, live: tuple[str, str]) -> None:
    v1, v2 = live
    body = {"strategy": "percentage", "versions": [{"version_id": v1, "percentage": 100}],
            "annotations": {"workers/message": "rollback"}}
    cloudflare.secrets_changed(WORKER, v1, ["A", "B"])
    with cloudflare.client() as api:
        refused = api.post(f"{SCRIPT}/deployments", json=body)
        assert refused.status_code == 400
        assert refused.json()["errors"] == [{"code": 10220, "message": "The following secrets have changed: A, B"}]
        forced = api.post(f"{SCRIPT}/deployments", params={"force": "true"}, json=body).json()["result"]
        assert forced["source"] == "api" and forced["versions"] == [{"version_id": v1, "percentage": 100}]
        cloudflare.refuse_deployments(WORKER, code=10215, message="no")
        assert api.post(f"{SCRIPT}/deployments", params={"force": "true"}, json=body).json()["errors"] == [
            {"code": 10215, "message": "no"}]
        cloudflare.allow_deployments(WORKER)
        cloudflare.fail_next(2)
        assert [api.get(f"{SCRIPT}/deployments").status_code for _ in range(3)] == [500, 500, 200]
    current = cloudflare.current(WORKER)
    assert current is not None and current.versions == [(v1, 100)] and v2 != v1


# -- GraphQL analytics ----------------------------------------------------------------------------------
QUERY = """
query GetWorkersAnalytics($accountTag: string, $datetimeStart: string, $datetimeEnd: string, $scriptName: string) {
  viewer { accounts(filter: {accountTag: $accountTag}) {
    workersInvocationsAdaptive(limit: 100, filter: {
        scriptName: $scriptName, datetime_geq: $datetimeStart, datetime_leq: $datetimeEnd }) {
      sum { requests errors subrequests }
      %s
    } } } }
"""


def graphql(cf: CloudflareEmulator, query: str, start: dt.datetime, end: dt.datetime, **extra: Any) -> dict[str, Any]:
    variables = {"accountTag": "acc", "scriptName": WORKER, "datetimeStart": start.isoformat().replace("+00:00", "Z"),
                 "datetimeEnd": end.isoformat().replace("+00:00", "Z"), **extra}
    with cf.client() as api:
        answer = api.post("/graphql", json={"query": query, "variables": variables})
    assert answer.status_code == 200
    result: dict[str, Any] = answer.json()
    return result


def rows(result: dict[str, Any]) -> list[dict[str, Any]]:
    assert result["errors"] is None, result["errors"]
    found: list[dict[str, Any]] = result["data"]["viewer"]["accounts"][0]["workersInvocationsAdaptive"]
    return found


@pytest.mark.usefixtures("live")
def test_graphql_totals_follow_the_traffic_model(cloudflare: CloudflareEmulator) -> None:
    start = cloudflare.now()
    cloudflare.set_traffic(WORKER, requests_per_minute=100, error_rate=0.01, start=start)
    cloudflare.set_traffic(WORKER, requests_per_minute=100, error_rate=0.3, start=start + dt.timedelta(minutes=10))
    cloudflare.advance(dt.timedelta(minutes=20))
    total = rows(graphql(cloudflare, QUERY % "", start, start + dt.timedelta(minutes=20)))
    assert total == [{"sum": {"requests": 2000, "errors": 310, "subrequests": 0}}]
    late = rows(graphql(cloudflare, QUERY % "", start + dt.timedelta(minutes=10), start + dt.timedelta(minutes=15)))
    assert late[0]["sum"]["errors"] == 150
    future = rows(graphql(cloudflare, QUERY % "", start + dt.timedelta(hours=1), start + dt.timedelta(hours=2)))
    assert future == []


def test_graphql_rows_per_minute_version_and_status(cloudflare: CloudflareEmulator, live: tuple[str, str]) -> None:
    v1, v2 = live
    start = cloudflare.now().replace(second=0, microsecond=0) + dt.timedelta(minutes=1)
    cloudflare.set_traffic(WORKER, requests_per_minute=100, error_rate=0.02, start=start)
    cloudflare.advance(start + dt.timedelta(minutes=3) - cloudflare.now())
    cloudflare.deploy(WORKER, [(v1, 10), (v2, 90)], message="canary")  # v2 keeps 90% of the script-wide traffic
    cloudflare.set_traffic(WORKER, requests_per_minute=10, error_rate=0.5, version=v1, start=cloudflare.now())
    cloudflare.advance(start + dt.timedelta(minutes=6) - cloudflare.now())
    dims = "dimensions { datetimeMinute scriptName scriptVersion status }"
    found = rows(graphql(cloudflare, QUERY % dims, start, start + dt.timedelta(minutes=6)))
    first = [r for r in found if r["dimensions"]["datetimeMinute"] == start.strftime("%Y-%m-%dT%H:%M:00Z")]
    assert first == [
        {"sum": {"requests": 2, "errors": 2, "subrequests": 0}, "dimensions": {
            "datetimeMinute": start.strftime("%Y-%m-%dT%H:%M:00Z"), "scriptName": WORKER, "scriptVersion": v2,
            "status": "scriptThrewException"}},
        {"sum": {"requests": 98, "errors": 0, "subrequests": 0}, "dimensions": {
            "datetimeMinute": start.strftime("%Y-%m-%dT%H:%M:00Z"), "scriptName": WORKER, "scriptVersion": v2,
            "status": "success"}}]
    by_version = rows(graphql(cloudflare, QUERY % "dimensions { scriptVersion }", start, start + dt.timedelta(minutes=6)))
    totals = {r["dimensions"]["scriptVersion"]: r["sum"] for r in by_version}
    assert totals[v1]["requests"] == 30 and totals[v1]["errors"] == 15
    assert totals[v2]["requests"] == 300 + 270 and totals[v2]["errors"] == round(6 + 5.4)
    only = """query($accountTag: string!, $since: Time!, $v: string!) { viewer { accounts(filter: {accountTag: $accountTag}) {
        canary: workersInvocationsAdaptive(limit: 10, filter: {datetime_geq: $since, scriptVersion: $v}) { sum { requests } } } } }"""
    narrowed = graphql(cloudflare, only, start, start, since=start.isoformat(), v=v1)
    assert narrowed["data"]["viewer"]["accounts"][0]["canary"] == [{"sum": {"requests": 30}}]


@pytest.mark.parametrize(("query", "variables", "needle"), [
    ("query { viewer { accounts(filter: {accountTag: \"acc\"}) { workersInvocationsAdaptive(limit: 1) { sum { requests } } } } ", {}, "Syntax Error"),
    (QUERY % "dimensions { nope }", {}, 'Cannot query field "nope"'),
    (QUERY.replace("subrequests", "bogus") % "", {}, 'Cannot query field "bogus"'),
    (QUERY.replace("datetime_geq: $datetimeStart, ", "") % "", {}, "datetime_geq"),
    (QUERY % "", {"accountTag": "someone-else"}, "not authorized"),
    ("query($x: string!) { viewer { __typename } }", {}, 'Variable "$x"'),
    ("mutation { viewer { __typename } }", {}, "only queries"),
])
def test_graphql_errors_are_http_200(cloudflare: CloudflareEmulator, query: str, variables: dict[str, Any], needle: str) -> None:
    now = cloudflare.now()
    answer = graphql(cloudflare, query, now - dt.timedelta(minutes=5), now, **variables)
    assert answer["data"] is None and needle in answer["errors"][0]["message"]


def test_graphql_introspection_lists_script_version(cloudflare: CloudflareEmulator) -> None:
    query = '{ __type(name: "AccountWorkersInvocationsAdaptiveDimensions") { name fields { name } } }'
    with cloudflare.client() as api:
        answer = api.post("/graphql", json={"query": query}).json()
    assert {"name": "scriptVersion"} in answer["data"]["__type"]["fields"]


def test_rust_worker_placeholder_build_runs_on_deploy(cloudflare: CloudflareEmulator, wrangler: Wrangler,
                                                      tmp_path: Path) -> None:
    project = copy_worker("rust-worker", tmp_path)
    done = wrangler.run("deploy", cwd=project)
    assert done.returncode == 0, done.stderr
    version = cloudflare.version("changegate-rust-worker", done.record("deploy")["version_id"])
    assert "rust-placeholder" in version.modules[version.main_module]
    assert (project / "build" / "worker" / "shim.mjs").exists()


def test_install_wrangler_says_what_is_missing_without_npm(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("bash", "dirname", "mkdir", "cat", "rm", "mktemp"):
        found = shutil.which(tool)
        assert found is not None
        (bin_dir / tool).symlink_to(found)
    done = subprocess.run(["bash", str(INSTALL_SCRIPT)], capture_output=True, text=True, check=False,
                          env={"PATH": str(bin_dir), "CHANGEGATE_WRANGLER_DIR": str(tmp_path / "wrangler")})
    assert done.returncode == 1 and done.stdout == ""
    assert "npm and node (>= 20.3) are needed" in done.stderr
    assert not (tmp_path / "wrangler").exists()
