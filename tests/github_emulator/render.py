"""Records as GitHub JSON: each object is a deep copy of GitHub's own example from the OpenAPI
description (`components.examples`) with only the fields the emulator's state defines changed.

Fixes to GitHub's examples so they validate against GitHub's own schemas (each is marked FIX):
- pull-request / pull-request-simple: `requested_teams[]` items lack `type`, which the
  `team-simple` schema requires (enum enterprise|organization); we add "organization".
- `nullable: true` enums (check-run `conclusion`) lack null: see openapi.load_spec, which adds
  it, so an in-progress run's `conclusion: null` (as GitHub sends it) validates.
"""

from __future__ import annotations

import base64
import copy
import datetime as dt
import hashlib
import json
import zlib
from collections.abc import Mapping
from typing import Any

from .records import CheckRun, Commit, Installation, IssuedToken, PullRequest, Repo, Review, Status

EXAMPLE_REPO = "octocat/Hello-World"
EXAMPLE_PULL_HEAD = "6dcb09b5b57875f334f61aebed695e2e4193db5e"


def stamp(when: dt.datetime | None) -> str | None:
    return None if when is None else when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def retarget(value: Any, replacements: Mapping[str, str]) -> Any:
    """Replace substrings in every string of a JSON value (URLs follow the new repo/number/sha)."""
    text = json.dumps(value)
    for old, new in replacements.items():
        text = text.replace(old, new)
    return json.loads(text)


def stable_id(text: str) -> int:
    return zlib.crc32(text.encode()) % 10_000_000 + 1


class Renderer:
    def __init__(self, examples: Mapping[str, Any]) -> None:
        self.examples = examples

    def example(self, name: str) -> Any:
        value = copy.deepcopy(self.examples[name]["value"])
        return value[0] if isinstance(value, list) else value

    # -- people and repositories -------------------------------------------------------------
    def user(self, login: str, *, template: str = "simple-user") -> dict[str, Any]:
        user: dict[str, Any] = retarget(self.example(template), {"/octocat": f"/{login}"})
        kind = "Bot" if login.endswith("[bot]") else "User"
        user.update(login=login, id=stable_id(login), type=kind, site_admin=False,
                    avatar_url=f"https://avatars.githubusercontent.com/u/{stable_id(login)}?v=4")
        return user

    def team_member(self, login: str) -> dict[str, Any]:
        return self.user(login, template="team-member-items")

    def repository(self, repo: Repo) -> dict[str, Any]:
        template = self.example("pull-request")["base"]["repo"]
        data: dict[str, Any] = retarget(template, {EXAMPLE_REPO: repo.full_name})
        data.update(id=repo.id, name=repo.name, full_name=repo.full_name, owner=self.user(repo.owner),
                    private=repo.private, default_branch=repo.default_branch)
        return data

    # -- pull requests -------------------------------------------------------------------------
    def pull(self, pull: PullRequest, repo: Repo, *, simple: bool = False) -> dict[str, Any]:
        template = self.example("pull-request-simple-items" if simple else "pull-request")
        data: dict[str, Any] = retarget(template, {
            f"{EXAMPLE_REPO}/pull/1347": f"{pull.repo}/pull/{pull.number}",
            "/1347": f"/{pull.number}", EXAMPLE_REPO: pull.repo, EXAMPLE_PULL_HEAD: pull.head_sha})
        label = data["labels"][0]
        team = {**data["requested_teams"][0], "type": "organization"}  # FIX: schema requires `type`
        data.update(
            id=pull.id, number=pull.number, state=pull.state, title=pull.title, body=pull.body,
            user=self.user(pull.author), draft=pull.draft, locked=False, active_lock_reason=None,
            labels=[{**label, "id": stable_id(name), "name": name, "default": False,
                     "url": f"https://api.github.com/repos/{pull.repo}/labels/{name}"} for name in pull.labels],
            milestone=None, assignee=None, assignees=[],
            requested_reviewers=[self.user(login) for login in pull.requested_reviewers],
            requested_teams=[{**team, "slug": slug, "name": slug, "id": stable_id(slug)} for slug in pull.requested_teams],
            created_at=stamp(pull.created_at), updated_at=stamp(pull.updated_at),
            closed_at=stamp(pull.closed_at), merged_at=stamp(pull.merged_at),
            merge_commit_sha=pull.merge_commit_sha, auto_merge=None,
        )
        for side, ref, sha in (("head", pull.head, pull.head_sha), ("base", pull.base, pull.base_sha)):
            data[side].update(ref=ref, sha=sha, label=f"{repo.owner}:{ref}", user=self.user(repo.owner),
                              repo=self.repository(repo))
        if not simple:
            data.update(merged=pull.merged, merged_by=self.user(pull.merged_by) if pull.merged_by else None,
                        mergeable=None if pull.merged else True, comments=0, review_comments=0,
                        commits=len(pull.commits), changed_files=len(pull.files),
                        additions=sum(f["additions"] for f in pull.files),
                        deletions=sum(f["deletions"] for f in pull.files))
        return data

    def diff_entry(self, pull: PullRequest, entry: Mapping[str, Any]) -> dict[str, Any]:
        data: dict[str, Any] = retarget(self.example("diff-entry-items"), {
            EXAMPLE_REPO: pull.repo, EXAMPLE_PULL_HEAD: pull.head_sha, "file1.txt": str(entry["filename"])})
        data.update(entry)
        return data

    def review(self, review: Review) -> dict[str, Any]:
        data: dict[str, Any] = retarget(self.example("pull-request-review-items"), {
            EXAMPLE_REPO: review.repo, "/pull/12#pullrequestreview-80": f"/pull/{review.number}#pullrequestreview-{review.id}",
            "/pulls/12": f"/pulls/{review.number}"})
        data.update(id=review.id, user=self.user(review.user), body=review.body, state=review.state,
                    commit_id=review.commit_id, submitted_at=stamp(review.submitted_at))
        return data

    def commit(self, repo: str, commit: Commit) -> dict[str, Any]:
        template = self.example("commit-items")
        data: dict[str, Any] = retarget(template, {EXAMPLE_REPO: repo, template["sha"]: commit.sha})
        data.pop("files", None)  # PR commit listings carry no per-commit files or stats
        data.pop("stats", None)
        signature = {"name": commit.author, "email": f"{commit.author}@users.noreply.github.com",
                     "date": stamp(commit.date)}
        data["commit"].update(message=commit.message, author=signature, committer=dict(signature))
        data.update(sha=commit.sha, author=self.user(commit.author), committer=self.user(commit.author),
                    parents=[{"sha": sha, "url": f"https://api.github.com/repos/{repo}/commits/{sha}",
                              "html_url": f"https://github.com/{repo}/commit/{sha}"} for sha in commit.parents])
        return data

    # -- checks and statuses -------------------------------------------------------------------
    def check_run(self, run: CheckRun, pulls: list[PullRequest]) -> dict[str, Any]:
        template = self.example("check-run")
        data: dict[str, Any] = retarget(template, {"github/hello-world": run.repo, "/check-runs/4": f"/check-runs/{run.id}",
                                                   "/runs/4": f"/runs/{run.id}"})
        data["app"].update(slug=run.app_slug, name=run.app_slug, id=stable_id(run.app_slug))
        output = {**data["output"], "title": None, "summary": None, "text": None, "annotations_count": 0}
        data.update(id=run.id, head_sha=run.head_sha, name=run.name, status=run.status, conclusion=run.conclusion,
                    started_at=stamp(run.started_at), completed_at=stamp(run.completed_at),
                    details_url=run.details_url, external_id=run.external_id, output={**output, **run.output},
                    pull_requests=[self._pull_minimal(p, template["pull_requests"][0]) for p in pulls])
        return data

    @staticmethod
    def _pull_minimal(pull: PullRequest, template: dict[str, Any]) -> dict[str, Any]:
        data: dict[str, Any] = copy.deepcopy(template)
        data.update(url=f"https://api.github.com/repos/{pull.repo}/pulls/{pull.number}", id=pull.id, number=pull.number)
        data["head"].update(ref=pull.head, sha=pull.head_sha)
        data["base"].update(ref=pull.base, sha=pull.base_sha)
        for side in ("head", "base"):
            data[side]["repo"].update(url=f"https://api.github.com/repos/{pull.repo}", name=pull.repo.split("/")[1])
        return data

    def status(self, status: Status, *, simple: bool = False) -> dict[str, Any]:
        data: dict[str, Any] = retarget(self.example("status"), {EXAMPLE_REPO: status.repo, EXAMPLE_PULL_HEAD: status.sha})
        data.update(id=status.id, state=status.state, description=status.description, target_url=status.target_url,
                    context=status.context, created_at=stamp(status.created_at), updated_at=stamp(status.created_at),
                    creator=self.user(status.creator))
        if simple:
            data.pop("creator")
        return data

    def combined_status(self, repo: Repo, sha: str, statuses: list[Status]) -> dict[str, Any]:
        data: dict[str, Any] = retarget(self.example("combined-commit-status"), {EXAMPLE_REPO: repo.full_name,
                                                                                 EXAMPLE_PULL_HEAD: sha})
        states = {s.state for s in statuses}
        state = "failure" if states & {"failure", "error"} else "pending" if not states or "pending" in states else "success"
        data.update(state=state, sha=sha, total_count=len(statuses), repository=self._minimal_repo(repo),
                    statuses=[self.status(s, simple=True) for s in statuses])
        return data

    def _minimal_repo(self, repo: Repo) -> dict[str, Any]:
        data: dict[str, Any] = retarget(self.example("combined-commit-status")["repository"], {EXAMPLE_REPO: repo.full_name})
        data.update(id=repo.id, name=repo.name, full_name=repo.full_name, owner=self.user(repo.owner), private=repo.private)
        return data

    # -- contents, apps ----------------------------------------------------------------------
    def content_file(self, repo: str, path: str, ref: str, content: bytes) -> dict[str, Any]:
        blob = hashlib.sha1(b"blob %d\0" % len(content) + content).hexdigest()
        template = self.example("content-file")
        data: dict[str, Any] = retarget(template, {
            "octokit/octokit.rb": repo, template["sha"]: blob, "/master/README.md": f"/{ref}/{path}",
            "/contents/README.md": f"/contents/{path}"})
        flat = base64.b64encode(content).decode()
        encoded = "".join(flat[i:i + 60] + "\n" for i in range(0, len(flat), 60))  # GitHub wraps at 60
        data.update(size=len(content), name=path.rsplit("/", 1)[-1], path=path, content=encoded, sha=blob)
        return data

    def installation(self, installation: Installation) -> dict[str, Any]:
        data: dict[str, Any] = self.example("installation")
        data.update(id=installation.id, app_id=installation.app_id, target_id=stable_id(installation.account),
                    account=self.user(installation.account),
                    access_tokens_url=f"https://api.github.com/app/installations/{installation.id}/access_tokens",
                    html_url=f"https://github.com/organizations/{installation.account}/settings/installations/{installation.id}")
        return data

    def installation_token(self, issued: IssuedToken, repos: list[Repo]) -> dict[str, Any]:
        data: dict[str, Any] = self.example("installation-token")
        data.update(token=issued.token, expires_at=stamp(issued.expires_at),
                    permissions={"checks": "write", "contents": "read", "pull_requests": "read",
                                 "statuses": "write", "members": "read", "actions": "write"},
                    repositories=[self.repository(repo) for repo in repos])
        return data
