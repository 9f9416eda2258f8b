"""The GitHub emulator answers as GitHub does: shapes validated against GitHub's OpenAPI
description, pagination, caps, ETags, auth, rate limits, transient failures, App tokens."""

from __future__ import annotations

import copy
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.github_emulator import Emulator, ResponseValidator, app_jwt, app_keypair
from tests.github_emulator.fixtures import GITHUB_TOKEN, github_emulator, github_validator

__all__ = ["github_emulator", "github_validator"]  # fixtures used by name below

REPO = "acme/web"
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def emu(github_emulator: Emulator) -> Emulator:
    """An emulator with one open PR (#1) carrying everything the read endpoints list."""
    state = github_emulator.state
    state.add_repo(REPO)
    pull = state.open_pull(REPO, files=["src/app.py", {"filename": "docs/new.md", "status": "added"}],
                           commits=2, labels=["significant"])
    state.submit_review(REPO, 1, user="bob", commit_id=pull.commits[0].sha)
    state.add_check_run(REPO, pull.head_sha, name="test")
    state.add_check_run(REPO, pull.head_sha, name="lint", status="in_progress")
    state.add_status(REPO, pull.head_sha, context="ci/build", state="success")
    state.set_file(REPO, "CODEOWNERS", "* @acme/security\n")
    state.add_team_members("acme", "security", ["alice", "carol"])
    return github_emulator


@pytest.fixture
def client(emu: Emulator) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=emu.base_url, headers={"Authorization": f"Bearer {GITHUB_TOKEN}"}) as http:
        yield http


def read_paths(emu: Emulator) -> list[str]:
    head = emu.state.pull(REPO, 1).head_sha
    return [
        f"/repos/{REPO}/pulls/1", f"/repos/{REPO}/pulls?state=open&base=main", f"/repos/{REPO}/pulls/1/files",
        f"/repos/{REPO}/pulls/1/reviews", f"/repos/{REPO}/pulls/1/commits", f"/repos/{REPO}/commits/{head}/check-runs",
        f"/repos/{REPO}/commits/{head}/status", f"/repos/{REPO}/commits/{head}/pulls",
        f"/repos/{REPO}/contents/CODEOWNERS?ref=main", "/orgs/acme/teams/security/members",
    ]


def corrupt(body: Any) -> Any:
    """The body with its first object's `id`-like field retyped and a required field removed."""
    bad = copy.deepcopy(body)
    target = bad[0] if isinstance(bad, list) else bad.get("check_runs", [bad])[0] if "check_runs" in bad else bad
    key = next(k for k in ("id", "sha", "state", "login", "type") if k in target)
    target[key] = {"not": "a scalar"}
    return bad


# -- the spec and the validator ----------------------------------------------------------------

@pytest.mark.usefixtures("github_validator")  # fetched once already: the script must be a no-op
def test_fetch_script_is_idempotent_and_prints_the_path() -> None:
    done = subprocess.run(["bash", "scripts/fetch-github-spec"], cwd=ROOT, capture_output=True, text=True, check=True)
    path = Path(done.stdout.strip())
    assert path.name == "api.github.com.json" and path.stat().st_size > 10_000_000
    assert "MIT" in (path.parent / "LICENSE").read_text()


def test_spec_path_runs_the_fetch_script_when_the_file_is_missing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.github_emulator import openapi

    fake = tmp_path / "fetch"
    fake.write_text('d="$CHANGEGATE_SPEC_DIR"; mkdir -p "$d"; echo {} > "$d/api.github.com.json"; echo MIT > "$d/LICENSE"; echo "$d/api.github.com.json"\n')
    monkeypatch.setattr(openapi, "FETCH_SCRIPT", fake)
    monkeypatch.setenv("CHANGEGATE_SPEC_DIR", str(tmp_path / "spec"))
    assert openapi.spec_path() == tmp_path / "spec" / "api.github.com.json"
    fake.write_text("exit 3\n")  # the file is there now: the script is not run again
    assert openapi.spec_path().is_file()


def test_the_documented_fixes_to_githubs_examples_are_needed(github_validator: ResponseValidator) -> None:
    pull = github_validator.example("pull-request")
    assert github_validator.errors("GET", "/repos/o/r/pulls/1", 200, pull) == ["GET /repos/o/r/pulls/1 -> 200: /requested_teams/0: 'type' is a required property"]
    in_progress = github_validator.example("check-run-example-of-in-progress-conclusion")
    assert in_progress["conclusion"] is None  # validates only because null joins nullable enums
    assert github_validator.errors("POST", "/repos/o/r/check-runs", 201, in_progress) == []


@pytest.mark.parametrize(("path", "template"), [
    ("/repos/o/r/pulls/5/reviews", "/repos/{owner}/{repo}/pulls/{pull_number}/reviews"),
    ("/repos/o/r/pulls/5", "/repos/{owner}/{repo}/pulls/{pull_number}"),
    ("/repos/o/r/contents/a/b/c.yml", "/repos/{owner}/{repo}/contents/{path}"),
    ("/repos/o/r/commits/abc/check-runs", "/repos/{owner}/{repo}/commits/{ref}/check-runs"),
    ("/orgs/o/teams/t/members", "/orgs/{org}/teams/{team_slug}/members"),
    ("/no/such/thing", None),
])
def test_concrete_paths_map_to_spec_templates(github_validator: ResponseValidator, path: str, template: str | None) -> None:
    assert github_validator.template(path) == template


def test_every_read_endpoint_validates_and_the_validator_catches_corruption(emu: Emulator, client: httpx.Client) -> None:
    for path in read_paths(emu):
        response = client.get(path)
        assert response.status_code == 200, (path, response.text)
        assert response.headers["content-type"].startswith("application/json")
        plain = path.split("?")[0]
        assert emu.validator.errors("GET", plain, 200, response.json()) == []
        assert emu.validator.errors("GET", plain, 200, corrupt(response.json())), f"corruption of {path} not caught"
    assert emu.validation_errors == []


def test_drift_in_a_response_is_recorded(github_validator: ResponseValidator, monkeypatch: pytest.MonkeyPatch) -> None:
    emulator = Emulator(validator=github_validator)
    emulator.state.open_pull(REPO)
    monkeypatch.setattr(emulator.world.render, "review", lambda _review: {"id": "eighty"})
    emulator.state.submit_review(REPO, 1, user="bob")
    with emulator, httpx.Client(base_url=emulator.base_url, headers={"Authorization": "token test-token"}) as http:
        assert http.get(f"/repos/{REPO}/pulls/1/reviews").status_code == 200
    assert any("'eighty' is not of type 'integer'" in error for error in emulator.validation_errors)


# -- content of the answers ----------------------------------------------------------------

def test_pull_request_reflects_state(emu: Emulator, client: httpx.Client) -> None:
    pull = client.get(f"/repos/{REPO}/pulls/1").json()
    record = emu.state.pull(REPO, 1)
    assert (pull["number"], pull["head"]["sha"], pull["base"]["ref"], pull["state"]) == (1, record.head_sha, "main", "open")
    assert [label["name"] for label in pull["labels"]] == ["significant"]
    assert pull["commits"] == 2 and pull["changed_files"] == 2 and pull["merged"] is False
    assert pull["url"].endswith(f"/repos/{REPO}/pulls/1")


def test_push_review_dismiss_and_merge(emu: Emulator, client: httpx.Client) -> None:
    state = emu.state
    old_head = state.pull(REPO, 1).head_sha
    new_head = state.push(REPO, 1, files=["src/other.py"])
    assert new_head != old_head
    review = state.submit_review(REPO, 1, user="alice", state="changes_requested")
    state.dismiss_review(REPO, 1, review.id)
    reviews = client.get(f"/repos/{REPO}/pulls/1/reviews").json()
    assert [(r["user"]["login"], r["state"]) for r in reviews] == [("bob", "APPROVED"), ("alice", "DISMISSED")]
    assert reviews[1]["commit_id"] == new_head
    assert [f["filename"] for f in client.get(f"/repos/{REPO}/pulls/1/files").json()] == ["src/other.py"]
    merge_sha = state.merge_pull(REPO, 1, merged_by="alice")
    pull = client.get(f"/repos/{REPO}/pulls/1").json()
    assert (pull["merged"], pull["state"], pull["merged_by"]["login"], pull["merge_commit_sha"]) == (True, "closed", "alice", merge_sha)
    assert [p["number"] for p in client.get(f"/repos/{REPO}/commits/{merge_sha}/pulls").json()] == [1]
    assert client.get(f"/repos/{REPO}/pulls", params={"state": "open"}).json() == []


def test_contents_are_base64_and_missing_files_are_github_404s(client: httpx.Client) -> None:
    import base64

    found = client.get(f"/repos/{REPO}/contents/CODEOWNERS").json()
    assert base64.b64decode(found["content"]).decode() == "* @acme/security\n" and found["encoding"] == "base64"
    missing = client.get(f"/repos/{REPO}/contents/.github/CODEOWNERS", params={"ref": "main"})
    assert missing.status_code == 404
    assert missing.json()["message"] == "Not Found" and missing.json()["status"] == "404"
    assert missing.json()["documentation_url"].startswith("https://docs.github.com/rest/repos/contents")


def test_team_members_and_missing_team(client: httpx.Client) -> None:
    assert [m["login"] for m in client.get("/orgs/acme/teams/security/members").json()] == ["alice", "carol"]
    assert client.get("/orgs/acme/teams/ghosts/members").status_code == 404


def test_check_runs_created_and_updated_through_the_api_are_listed(emu: Emulator, client: httpx.Client) -> None:
    head = emu.state.pull(REPO, 1).head_sha
    created = client.post(f"/repos/{REPO}/check-runs", json={"name": "changegate", "head_sha": head, "status": "in_progress"})
    assert created.status_code == 201 and created.json()["conclusion"] is None
    updated = client.patch(f"/repos/{REPO}/check-runs/{created.json()['id']}",
                           json={"conclusion": "failure", "output": {"title": "Pending approvals", "summary": "1 of 2"}})
    assert updated.status_code == 200 and updated.json()["status"] == "completed"
    listing = client.get(f"/repos/{REPO}/commits/{head}/check-runs").json()
    runs = {run["name"]: run for run in listing["check_runs"]}
    assert listing["total_count"] == 3 and runs["changegate"]["conclusion"] == "failure"
    assert runs["changegate"]["app"]["slug"] == "changegate" and runs["changegate"]["output"]["title"] == "Pending approvals"
    assert runs["test"]["pull_requests"][0]["number"] == 1
    assert client.post(f"/repos/{REPO}/check-runs", json={"head_sha": head}).status_code == 422
    assert emu.request_errors  # the spec requires `name`


def test_latest_check_run_per_name_unless_filter_all(emu: Emulator, client: httpx.Client) -> None:
    head = emu.state.pull(REPO, 1).head_sha
    emu.state.add_check_run(REPO, head, name="test", conclusion="failure")
    latest = client.get(f"/repos/{REPO}/commits/{head}/check-runs").json()["check_runs"]
    assert [r["conclusion"] for r in latest if r["name"] == "test"] == ["failure"]
    every = client.get(f"/repos/{REPO}/commits/{head}/check-runs", params={"filter": "all"}).json()
    assert every["total_count"] == 3


def test_combined_status_and_posted_statuses(emu: Emulator, client: httpx.Client) -> None:
    head = emu.state.pull(REPO, 1).head_sha
    posted = client.post(f"/repos/{REPO}/statuses/{head}", json={"state": "failure", "context": "ci/deploy"})
    assert posted.status_code == 201 and posted.json()["creator"]["login"] == "octocat"
    combined = client.get(f"/repos/{REPO}/commits/{head}/status").json()
    assert (combined["state"], combined["total_count"], combined["sha"]) == ("failure", 2, head)
    client.post(f"/repos/{REPO}/statuses/{head}", json={"state": "success", "context": "ci/deploy"})
    assert client.get(f"/repos/{REPO}/commits/main/status").json()["state"] == "pending"  # main has none
    assert client.get(f"/repos/{REPO}/commits/{head}/status").json()["state"] == "success"


def test_deployment_protection_rule_reviews_are_recorded(emu: Emulator, client: httpx.Client) -> None:
    body = {"environment_name": "production", "state": "approved", "comment": "changegate: pass"}
    response = client.post(f"/repos/{REPO}/actions/runs/42/deployment_protection_rule", json=body)
    assert response.status_code == 204 and response.content == b""
    assert emu.state.protection_rule_reviews == [{"repo": REPO, "run_id": 42, "body": body}]
    bad = client.post(f"/repos/{REPO}/actions/runs/42/deployment_protection_rule", json={"state": "maybe"})
    assert bad.status_code == 422 and len(emu.state.protection_rule_reviews) == 1


# -- pagination and GitHub's caps ------------------------------------------------------------

def links(response: httpx.Response) -> dict[str, str]:
    return {rel: str(url) for rel, url in ((k, v["url"]) for k, v in response.links.items())}


def test_files_paginate_with_link_headers(emu: Emulator, client: httpx.Client) -> None:
    emu.state.open_pull(REPO, number=2, files=[f"f{i}.txt" for i in range(250)])
    first = client.get(f"/repos/{REPO}/pulls/2/files", params={"per_page": 100})
    assert len(first.json()) == 100 and set(links(first)) == {"next", "last"}
    assert "page=2" in links(first)["next"] and "page=3" in links(first)["last"] and "per_page=100" in links(first)["next"]
    last = client.get(links(first)["last"])
    assert [f["filename"] for f in last.json()][-1] == "f249.txt" and len(last.json()) == 50
    assert set(links(last)) == {"prev", "first"}
    assert len(client.get(f"/repos/{REPO}/pulls/2/files").json()) == 30  # default per_page
    assert len(client.get(f"/repos/{REPO}/pulls/2/files", params={"per_page": 1000}).json()) == 100  # clamped


def test_at_most_3000_files_and_250_commits_are_listed(emu: Emulator, client: httpx.Client) -> None:
    emu.state.open_pull(REPO, number=3, files=[f"f{i}.txt" for i in range(3100)], commits=260)
    page_30 = client.get(f"/repos/{REPO}/pulls/3/files", params={"per_page": 100, "page": 30})
    assert len(page_30.json()) == 100 and "next" not in links(page_30)
    assert page_30.json()[-1]["filename"] == "f2999.txt"
    assert client.get(f"/repos/{REPO}/pulls/3/files", params={"per_page": 100, "page": 31}).json() == []
    assert client.get(f"/repos/{REPO}/pulls/3").json()["changed_files"] == 3100  # the PR itself says 3100
    commits = client.get(f"/repos/{REPO}/pulls/3/commits", params={"per_page": 100, "page": 3})
    assert len(commits.json()) == 50 and "next" not in links(commits)


def test_check_runs_and_reviews_paginate(emu: Emulator, client: httpx.Client) -> None:
    head = emu.state.pull(REPO, 1).head_sha
    for index in range(5):
        emu.state.add_check_run(REPO, head, name=f"job-{index}")
        emu.state.submit_review(REPO, 1, user=f"user{index}", state="commented")
    runs = client.get(f"/repos/{REPO}/commits/{head}/check-runs", params={"per_page": 3, "page": 2})
    assert runs.json()["total_count"] == 7 and len(runs.json()["check_runs"]) == 3 and "next" in links(runs)
    reviews = client.get(f"/repos/{REPO}/pulls/1/reviews", params={"per_page": 4, "page": 2})
    assert len(reviews.json()) == 2 and set(links(reviews)) == {"prev", "first"}


# -- ETags, counting ---------------------------------------------------------------------------

def test_etag_revalidation_answers_304_and_counts_the_call(emu: Emulator, client: httpx.Client) -> None:
    path = f"/repos/{REPO}/pulls/1"
    first = client.get(path)
    etag = first.headers["etag"]
    assert etag.startswith('W/"')
    remaining = int(first.headers["x-ratelimit-remaining"])
    calls = emu.calls
    again = client.get(path, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    assert emu.calls == calls + 1 and int(again.headers["x-ratelimit-remaining"]) == remaining  # 304s are free
    emu.state.push(REPO, 1)
    changed = client.get(path, headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["etag"] != etag


def test_every_request_is_logged_and_counted(emu: Emulator, client: httpx.Client) -> None:
    assert emu.calls == 0
    client.get(f"/repos/{REPO}/pulls/1")
    client.get(f"/repos/{REPO}/pulls/1/files", params={"per_page": 5})
    client.get(f"/repos/{REPO}/pulls/1")
    client.get("/repos/acme/missing/pulls/9")
    assert emu.calls == 4
    assert emu.state.path_counts()[f"/repos/{REPO}/pulls/1"] == 2
    call = emu.state.requests[1]
    assert (call.method, call.path, call.query, call.status) == ("GET", f"/repos/{REPO}/pulls/1/files", "per_page=5", 200)
    assert emu.state.requests[-1].status == 404
    first = client.get(f"/repos/{REPO}/pulls/1")
    assert first.headers["x-github-request-id"] and first.headers["x-ratelimit-resource"] == "core"


# -- auth ----------------------------------------------------------------------------------------

def test_requests_without_valid_credentials_get_401(emu: Emulator) -> None:
    path = emu.url(f"/repos/{REPO}/pulls/1")
    anonymous = httpx.get(path)
    assert anonymous.status_code == 401 and anonymous.json()["message"] == "Requires authentication"
    wrong = httpx.get(path, headers={"Authorization": "token wrong"})
    assert wrong.status_code == 401 and wrong.json()["message"] == "Bad credentials"
    assert httpx.get(path, headers={"Authorization": f"token {GITHUB_TOKEN}"}).status_code == 200
    assert httpx.get(path, headers={"Authorization": f"Bearer {app_jwt(1)}"}).status_code == 401  # JWT: /app/* only
    assert [call.status for call in emu.state.requests] == [401, 401, 200, 401]


def test_installation_tokens_are_issued_for_a_jwt_and_expire(emu: Emulator) -> None:
    installation = emu.state.add_installation("acme", repositories=[REPO])
    jwt_header = {"Authorization": f"Bearer {app_jwt(1)}"}
    found = httpx.get(emu.url(f"/repos/{REPO}/installation"), headers=jwt_header)
    assert found.status_code == 200 and found.json()["id"] == installation.id
    by_org = httpx.get(emu.url("/orgs/acme/installation"), headers=jwt_header)
    assert by_org.status_code == 200 and by_org.json()["account"]["login"] == "acme"
    assert httpx.get(emu.url("/orgs/other/installation"), headers=jwt_header).status_code == 404
    url = emu.url(f"/app/installations/{installation.id}/access_tokens")
    assert httpx.post(url, headers={"Authorization": f"Bearer {GITHUB_TOKEN}"}).status_code == 401  # needs a JWT
    issued = httpx.post(url, headers=jwt_header)
    assert issued.status_code == 201 and issued.json()["token"].startswith("ghs_")
    assert issued.json()["repositories"][0]["full_name"] == REPO
    token_header = {"Authorization": f"token {issued.json()['token']}"}
    assert httpx.get(emu.url(f"/repos/{REPO}/pulls/1"), headers=token_header).status_code == 200
    emu.state.advance(3601)
    assert httpx.get(emu.url(f"/repos/{REPO}/pulls/1"), headers=token_header).status_code == 401
    assert httpx.post(emu.url("/app/installations/999/access_tokens"), headers=jwt_header).status_code == 404


def test_jwts_from_another_key_or_app_are_refused(emu: Emulator) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    other = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
    url = emu.url(f"/repos/{REPO}/installation")
    assert httpx.get(url, headers={"Authorization": f"Bearer {app_jwt(1, other)}"}).status_code == 401
    assert httpx.get(url, headers={"Authorization": f"Bearer {app_jwt(2, app_keypair()[0])}"}).status_code == 401


# -- rate limits and transient failures ------------------------------------------------------

def test_primary_rate_limit(emu: Emulator, client: httpx.Client) -> None:
    path = f"/repos/{REPO}/pulls/1"
    assert int(client.get(path).headers["x-ratelimit-remaining"]) == 4999
    emu.knobs.primary_limit(status=403, reset_in=30)
    emu.knobs.primary_limit(status=429)
    limited = client.get(path)
    assert limited.status_code == 403 and limited.headers["x-ratelimit-remaining"] == "0"
    assert "rate limit exceeded" in limited.json()["message"]
    assert int(limited.headers["x-ratelimit-reset"]) >= int(client.get(path).headers["x-ratelimit-reset"]) - 3600
    assert client.get(path).status_code == 200


def test_exhausted_budget_refuses_until_reset(emu: Emulator, client: httpx.Client) -> None:
    emu.knobs.set_rate_limit(limit=5000, remaining=1)
    assert client.get(f"/repos/{REPO}/pulls/1").headers["x-ratelimit-remaining"] == "0"
    refused = client.get(f"/repos/{REPO}/pulls/1")
    assert refused.status_code == 403 and refused.headers["x-ratelimit-used"] == "5000"
    emu.knobs.set_rate_limit(limit=5000, remaining=0, reset_in=-1)  # reset time passed
    assert client.get(f"/repos/{REPO}/pulls/1").status_code == 200


def test_secondary_rate_limit_sends_retry_after(emu: Emulator, client: httpx.Client) -> None:
    emu.knobs.secondary_limit(retry_after=7)
    limited = client.get(f"/repos/{REPO}/pulls/1")
    assert limited.status_code == 403 and limited.headers["retry-after"] == "7"
    assert "secondary rate limit" in limited.json()["message"]
    assert client.get(f"/repos/{REPO}/pulls/1").status_code == 200


def test_transient_failures_on_one_path(emu: Emulator, client: httpx.Client) -> None:
    files = f"/repos/{REPO}/pulls/1/files"
    emu.knobs.fail_next(2, path=files, status=502)
    emu.knobs.fail_next(1, path=files, status=503)
    assert client.get(f"/repos/{REPO}/pulls/1").status_code == 200  # other paths unaffected
    assert [client.get(files).status_code for _ in range(4)] == [502, 502, 503, 200]
    assert emu.state.path_counts()[files] == 4
