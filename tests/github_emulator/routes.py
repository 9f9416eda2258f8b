"""The endpoints, as GitHub names them: each handler turns one request into a Reply using the
state (under its lock) and the renderer. The server wraps them with auth, knobs and validation."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from .paging import paginate
from .records import PullRequest
from .render import Renderer
from .state import GitHubState

FILES_CAP = 3000  # GitHub never lists more than 3000 files of a pull request
COMMITS_CAP = 250  # ... nor more than 250 commits
T = TypeVar("T")


@dataclass
class Ask:
    """One request, as a handler sees it."""

    method: str
    path: str
    params: dict[str, Any]
    query: Mapping[str, str]
    body: Any
    base_url: str  # scheme://host:port + path, for Link headers
    caller: str


@dataclass
class Reply:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class World:
    state: GitHubState
    render: Renderer
    app_slug: str
    docs: Callable[[str, str], str]  # (method, path) -> documentation_url

    def error(self, ask: Ask, status: int, message: str) -> Reply:
        return Reply(status, {"message": message, "documentation_url": self.docs(ask.method, ask.path),
                              "status": str(status)})

    def not_found(self, ask: Ask) -> Reply:
        return self.error(ask, 404, "Not Found")


Handler = Callable[[World, Ask], Reply]


def _repo(ask: Ask) -> str:
    return f"{ask.params['owner']}/{ask.params['repo']}"


def _pull(world: World, ask: Ask) -> PullRequest | None:
    return world.state.pulls.get((_repo(ask), int(ask.params["number"])))


def _page(ask: Ask, items: Sequence[T], render: Callable[[T], Any], *, cap: int | None = None) -> Reply:
    """One page of `items`, rendered (only the page is rendered: 3000-file PRs stay cheap)."""
    chunk, headers = paginate(items, ask.query, ask.base_url, cap=cap)
    return Reply(200, [render(item) for item in chunk], headers)


def get_pull(world: World, ask: Ask) -> Reply:
    pull = _pull(world, ask)
    if pull is None:
        return world.not_found(ask)
    return Reply(200, world.render.pull(pull, world.state.repos[pull.repo]))


def list_pulls(world: World, ask: Ask) -> Reply:
    repo = world.state.repos.get(_repo(ask))
    if repo is None:
        return world.not_found(ask)
    wanted, base, head = ask.query.get("state", "open"), ask.query.get("base"), ask.query.get("head")
    pulls = [p for p in world.state.pulls.values() if p.repo == repo.full_name
             and wanted in ("all", p.state) and base in (None, p.base) and head in (None, f"{repo.owner}:{p.head}")]
    pulls.sort(key=lambda p: p.created_at, reverse=ask.query.get("direction", "desc") == "desc")
    return _page(ask, pulls, lambda p: world.render.pull(p, repo, simple=True))


def list_files(world: World, ask: Ask) -> Reply:
    pull = _pull(world, ask)
    if pull is None:
        return world.not_found(ask)
    return _page(ask, pull.files, lambda f: world.render.diff_entry(pull, f), cap=FILES_CAP)


def list_reviews(world: World, ask: Ask) -> Reply:
    pull = _pull(world, ask)
    if pull is None:
        return world.not_found(ask)
    reviews = world.state.reviews_for(pull.repo, pull.number)
    return _page(ask, reviews, world.render.review)


def list_commits(world: World, ask: Ask) -> Reply:
    pull = _pull(world, ask)
    if pull is None:
        return world.not_found(ask)
    return _page(ask, pull.commits, lambda c: world.render.commit(pull.repo, c), cap=COMMITS_CAP)


def _resolve_ref(world: World, repo: str, ref: str) -> str:
    record = world.state.repos.get(repo)
    return record.branches.get(ref, ref) if record else ref


def _pulls_with_head(world: World, repo: str, sha: str) -> list[PullRequest]:
    return [p for p in world.state.pulls.values() if p.repo == repo and p.head_sha == sha and p.state == "open"]


def list_check_runs(world: World, ask: Ask) -> Reply:
    repo = _repo(ask)
    sha = _resolve_ref(world, repo, ask.params["ref"])
    runs = sorted(world.state.check_runs_for(repo, sha), key=lambda r: r.id, reverse=True)
    if ask.query.get("filter", "latest") == "latest":
        latest: dict[tuple[str, str], Any] = {}
        for run in runs:
            latest.setdefault((run.app_slug, run.name), run)
        runs = list(latest.values())
    runs = [r for r in runs if ask.query.get("check_name") in (None, r.name)
            and ask.query.get("status") in (None, r.status)]
    pulls = _pulls_with_head(world, repo, sha)
    chunk, headers = paginate(runs, ask.query, ask.base_url)
    body = {"total_count": len(runs), "check_runs": [world.render.check_run(r, pulls) for r in chunk]}
    return Reply(200, body, headers)


def combined_status(world: World, ask: Ask) -> Reply:
    repo = world.state.repos.get(_repo(ask))
    if repo is None:
        return world.not_found(ask)
    sha = _resolve_ref(world, repo.full_name, ask.params["ref"])
    statuses = world.state.statuses_for(repo.full_name, sha)
    chunk, headers = paginate(statuses, ask.query, ask.base_url)
    body = world.render.combined_status(repo, sha, statuses)
    body["statuses"] = [world.render.status(s, simple=True) for s in chunk]
    return Reply(200, body, headers)


def pulls_for_commit(world: World, ask: Ask) -> Reply:
    repo = world.state.repos.get(_repo(ask))
    if repo is None:
        return world.not_found(ask)
    sha = ask.params["sha"]
    pulls = [p for p in world.state.pulls.values() if p.repo == repo.full_name
             and (sha in (p.head_sha, p.merge_commit_sha) or any(c.sha == sha for c in p.commits))]
    return _page(ask, pulls, lambda p: world.render.pull(p, repo, simple=True))


def get_content(world: World, ask: Ask) -> Reply:
    repo = world.state.repos.get(_repo(ask))
    path = ask.params["path"]
    ref = ask.query.get("ref") or (repo.default_branch if repo else "")
    data = world.state.file(_repo(ask), path, ref=ref)
    if repo is None or data is None:
        return world.not_found(ask)
    return Reply(200, world.render.content_file(repo.full_name, path, ref, data))


def team_members(world: World, ask: Ask) -> Reply:
    members = world.state.team_members(ask.params["org"], ask.params["team_slug"])
    if members is None:
        return world.not_found(ask)
    return _page(ask, members, world.render.team_member)


def repo_installation(world: World, ask: Ask) -> Reply:
    repo = world.state.repos.get(_repo(ask))
    installation = world.state.installations.get(repo.installation_id or 0) if repo else None
    if installation is None:
        return world.not_found(ask)
    return Reply(200, world.render.installation(installation))


def account_installation(world: World, ask: Ask) -> Reply:
    """GET /orgs/{org}/installation and /users/{username}/installation."""
    account = (ask.params.get("org") or ask.params.get("username") or "").lower()
    found = [i for i in world.state.installations.values() if i.account.lower() == account]
    if not found:
        return world.not_found(ask)
    return Reply(200, world.render.installation(found[0]))


def create_access_token(world: World, ask: Ask) -> Reply:
    installation = world.state.installations.get(int(ask.params["installation_id"]))
    if installation is None:
        return world.not_found(ask)
    issued = world.state.issue_token(installation.id)
    repos = [world.state.repos[name] for name in installation.repositories if name in world.state.repos]
    return Reply(201, world.render.installation_token(issued, repos))
