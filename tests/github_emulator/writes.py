"""The endpoints that change state: check runs, commit statuses, deployment protection rules."""

from __future__ import annotations

from typing import Any

from .records import utc
from .routes import Ask, Reply, World, _pulls_with_head, _repo

CHECK_STATUSES = {"queued", "in_progress", "completed", "waiting", "requested", "pending"}
CONCLUSIONS = {"success", "failure", "neutral", "cancelled", "skipped", "timed_out", "action_required"}
STATUS_STATES = {"error", "failure", "pending", "success"}


def _invalid(world: World, ask: Ask, problem: str) -> Reply:
    return world.error(ask, 422, f"Invalid request.\n\n{problem}")


def _check_problem(body: dict[str, Any], *, creating: bool) -> str | None:
    if creating and not body.get("name"):
        return '"name" wasn\'t supplied.'
    if creating and not body.get("head_sha"):
        return '"head_sha" wasn\'t supplied.'
    if body.get("status") is not None and body["status"] not in CHECK_STATUSES:
        return f"{body['status']!r} is not a valid status."
    if body.get("conclusion") is not None and body["conclusion"] not in CONCLUSIONS:
        return f"{body['conclusion']!r} is not a valid conclusion."
    if body.get("status") == "completed" and not body.get("conclusion"):
        return '"conclusion" wasn\'t supplied.'  # GitHub: completed needs a conclusion
    return None


def _render_run(world: World, run_id: int) -> dict[str, Any]:
    run = world.state.check_runs[run_id]
    return world.render.check_run(run, _pulls_with_head(world, run.repo, run.head_sha))


def create_check_run(world: World, ask: Ask) -> Reply:
    body = ask.body if isinstance(ask.body, dict) else {}
    problem = _check_problem(body, creating=True)
    if problem:
        return _invalid(world, ask, problem)
    status = "completed" if body.get("conclusion") else body.get("status", "queued")
    run = world.state.add_check_run(
        _repo(ask), body["head_sha"], name=body["name"], status=status, conclusion=body.get("conclusion"),
        app_slug=world.app_slug, started_at=body.get("started_at"), details_url=body.get("details_url"),
        output=_output(body), external_id=body.get("external_id", ""))
    if body.get("completed_at"):
        run.completed_at = utc(body["completed_at"], run.started_at)
    return Reply(201, _render_run(world, run.id))


def _output(body: dict[str, Any]) -> dict[str, Any]:
    output = body.get("output") or {}
    return {key: output[key] for key in ("title", "summary", "text") if key in output}


def update_check_run(world: World, ask: Ask) -> Reply:
    body = ask.body if isinstance(ask.body, dict) else {}
    with world.state.lock:
        run = world.state.check_runs.get(int(ask.params["check_run_id"]))
        if run is None or run.repo != _repo(ask):
            return world.not_found(ask)
        problem = _check_problem(body, creating=False)
        if problem:
            return _invalid(world, ask, problem)
        run.name = body.get("name", run.name)
        run.details_url = body.get("details_url", run.details_url)
        run.output.update(_output(body))
        if body.get("conclusion"):
            run.status, run.conclusion = "completed", body["conclusion"]
            run.completed_at = utc(body.get("completed_at"), world.state.now())
        elif body.get("status"):
            run.status = body["status"]
        return Reply(200, _render_run(world, run.id))


def get_check_run(world: World, ask: Ask) -> Reply:
    run = world.state.check_runs.get(int(ask.params["check_run_id"]))
    if run is None or run.repo != _repo(ask):
        return world.not_found(ask)
    return Reply(200, _render_run(world, run.id))


def create_status(world: World, ask: Ask) -> Reply:
    body = ask.body if isinstance(ask.body, dict) else {}
    if body.get("state") not in STATUS_STATES:
        return _invalid(world, ask, f"state {body.get('state')!r} is not one of {sorted(STATUS_STATES)}.")
    status = world.state.add_status(
        _repo(ask), ask.params["sha"], context=body.get("context") or "default", state=body["state"],
        description=body.get("description"), target_url=body.get("target_url"), creator=ask.caller)
    return Reply(201, world.render.status(status))


def review_protection_rule(world: World, ask: Ask) -> Reply:
    """POST .../actions/runs/{run_id}/deployment_protection_rule: {environment_name, state:
    approved|rejected, comment} or a comment alone. 204, the body recorded for tests."""
    body = ask.body if isinstance(ask.body, dict) else {}
    decision = body.get("state") in ("approved", "rejected") and isinstance(body.get("environment_name"), str)
    comment_only = set(body) == {"comment"} or set(body) == {"environment_name", "comment"}
    if not (decision or comment_only):
        return _invalid(world, ask, "Send environment_name and state (approved or rejected), or a comment.")
    world.state.record_protection_rule_review(_repo(ask), int(ask.params["run_id"]), body)
    return Reply(204)
