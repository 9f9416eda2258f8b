"""Every port method against the emulator: whole lists across pages, None on 404, writes."""

from __future__ import annotations

from changegate.adapters.github import GitHubClient
from changegate.services.ports import GitHubAPI
from tests.github.conftest import run
from tests.github_emulator import Emulator

REPO = "octo-org/service"


def test_the_client_is_the_port(github_emulator: Emulator) -> None:
    async def scenario(client: GitHubClient) -> GitHubAPI:
        return client  # mypy checks the Protocol; at run time the attributes are there

    port = run(github_emulator, scenario)
    assert port.calls == 0


def test_pull_and_its_files_reviews_and_commits(github_emulator: Emulator) -> None:
    state = github_emulator.state
    files = [f"src/module_{i:03}.py" for i in range(250)]
    pull = state.open_pull(REPO, files=files, commits=3)
    state.submit_review(REPO, pull.number, user="reviewer-a")
    state.submit_review(REPO, pull.number, user="reviewer-b", state="CHANGES_REQUESTED")

    async def scenario(client: GitHubClient) -> tuple[object, ...]:
        got = await client.get_pull(REPO, pull.number)
        return got, await client.list_pull_files(REPO, pull.number), await client.list_reviews(REPO, pull.number), \
            await client.list_pull_commits(REPO, pull.number), client.calls, client.calls_by_endpoint

    got, listed, reviews, commits, calls, by_endpoint = run(github_emulator, scenario)
    assert (got["number"], got["head"]["sha"], got["changed_files"]) == (pull.number, pull.head_sha, 250)
    assert [f["filename"] for f in listed] == files  # three pages of 100, 100, 50
    assert [(r["user"]["login"], r["state"]) for r in reviews] == [("reviewer-a", "APPROVED"), ("reviewer-b", "CHANGES_REQUESTED")]
    assert [c["sha"] for c in commits] == [c.sha for c in pull.commits]
    # get_pull twice (the second revalidates with a 304), 3 file pages, 1 review page, 1 commit page
    assert calls == github_emulator.calls == 7
    assert by_endpoint["GET /repos/{owner}/{repo}/pulls/{number}/files"] == 3
    assert by_endpoint["GET /repos/{owner}/{repo}/pulls/{number}"] == 2
    assert all("per_page=100" in call.query for call in github_emulator.state.requests if call.path.endswith("/files"))


def test_check_runs_and_statuses_of_a_commit_across_pages(github_emulator: Emulator) -> None:
    state = github_emulator.state
    sha = state.open_pull(REPO).head_sha
    for index in range(130):
        state.add_check_run(REPO, sha, name=f"job-{index}")
    for index in range(105):
        state.add_status(REPO, sha, context=f"ci/{index}", state="pending" if index == 7 else "success")

    async def scenario(client: GitHubClient) -> tuple[list[dict[str, object]], list[dict[str, object]]]:
        return await client.list_check_runs(REPO, sha), await client.list_statuses(REPO, sha)

    runs, statuses = run(github_emulator, scenario)
    assert sorted(str(r["name"]) for r in runs) == sorted(f"job-{i}" for i in range(130))
    assert len(statuses) == 105 and {s["context"] for s in statuses if s["state"] == "pending"} == {"ci/7"}
    assert state.path_counts()[f"/repos/{REPO}/commits/{sha}/check-runs"] == 2


def test_file_text_at_a_ref_or_none(github_emulator: Emulator) -> None:
    state = github_emulator.state
    state.add_repo(REPO)
    state.set_file(REPO, ".github/CODEOWNERS", "* @octo-org/platform\n# naïve\n")
    state.set_file(REPO, "changegate.yml", "version: 1\n", ref="release")

    async def scenario(client: GitHubClient) -> list[str | None]:
        return [
            await client.get_file_text(REPO, ".github/CODEOWNERS", ref="main"),
            await client.get_file_text(REPO, "/.github/CODEOWNERS", ref=""),
            await client.get_file_text(REPO, "changegate.yml", ref="release"),
            await client.get_file_text(REPO, "changegate.yml", ref="main"),
            await client.get_file_text("octo-org/absent", "CODEOWNERS", ref="main"),
        ]

    assert run(github_emulator, scenario) == [
        "* @octo-org/platform\n# naïve\n", "* @octo-org/platform\n# naïve\n", "version: 1\n", None, None,
    ]


def test_team_members_or_none(github_emulator: Emulator) -> None:
    members = [f"dev{i}" for i in range(120)]
    github_emulator.state.add_team_members("octo-org", "platform", members)
    github_emulator.state.add_team_members("octo-org", "empty")

    async def scenario(client: GitHubClient) -> list[list[str] | None]:
        return [await client.list_team_members("octo-org", slug) for slug in ("platform", "empty", "ghosts")]

    assert run(github_emulator, scenario) == [members, [], None]


def test_open_pulls_by_base_and_pulls_for_a_commit(github_emulator: Emulator) -> None:
    state = github_emulator.state
    first = state.open_pull(REPO)
    second = state.open_pull(REPO, base="release")
    state.close_pull(REPO, state.open_pull(REPO).number)

    async def scenario(client: GitHubClient) -> tuple[list[int], list[int], list[int]]:
        everything = [p["number"] for p in await client.list_open_pulls(REPO)]
        release = [p["number"] for p in await client.list_open_pulls(REPO, base="release")]
        by_commit = [p["number"] for p in await client.pulls_for_commit(REPO, first.head_sha)]
        return everything, release, by_commit

    everything, release, by_commit = run(github_emulator, scenario)
    assert sorted(everything) == [first.number, second.number]
    assert release == [second.number] and by_commit == [first.number]


def test_check_run_created_then_completed(github_emulator: Emulator) -> None:
    sha = github_emulator.state.open_pull(REPO).head_sha

    async def scenario(client: GitHubClient) -> tuple[dict[str, object], dict[str, object]]:
        created = await client.create_check_run(REPO, {"name": "changegate", "head_sha": sha, "status": "in_progress"})
        done = await client.update_check_run(
            REPO, int(str(created["id"])),
            {"status": "completed", "conclusion": "failure", "output": {"title": "Pending", "summary": "1 approval missing"}},
        )
        return created, done

    created, done = run(github_emulator, scenario)
    assert (created["status"], created["head_sha"]) == ("in_progress", sha)
    assert (done["id"], done["status"], done["conclusion"]) == (created["id"], "completed", "failure")
    assert github_emulator.request_errors == []


def test_deployment_protection_rule_review(github_emulator: Emulator) -> None:
    github_emulator.state.add_repo(REPO)
    body = {"environment_name": "production", "state": "rejected", "comment": "outside the deploy window"}

    async def scenario(client: GitHubClient) -> None:
        return await client.review_deployment_protection_rule(REPO, 4242, body)

    assert run(github_emulator, scenario) is None
    assert github_emulator.state.protection_rule_reviews == [{"repo": REPO, "run_id": 4242, "body": body}]
