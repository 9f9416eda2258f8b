"""Real GitHub webhook payloads (npm @octokit/webhooks-examples 7.6.1), validated against GitHub's
schemas (@octokit/webhooks-schemas 7.6.1) with jsonschema's Draft7Validator, plus builders for
the payloads the examples lack, each made by mutating a real example and validated again.

Reusable: `example(event, action)`, `real_deliveries()`, `merged_pull_request_closed()`,
`approved_review()`, `pull_request_edited()`, `deployment_protection_rule_requested()`,
`validate(event, payload)`, `sign(secret, body)` and `github_headers(...)`.
The npm files are fetched by scripts/fetch-webhook-examples when missing.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import os
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft7Validator

ROOT = Path(__file__).resolve().parents[2]
FETCH_SCRIPT = ROOT / "scripts" / "fetch-webhook-examples"
EXAMPLES_RELATIVE = Path("node_modules/@octokit/webhooks-examples/api.github.com/index.json")
SCHEMA_RELATIVE = Path("node_modules/@octokit/webhooks-schemas/schema.json")

Payload = dict[str, Any]

# The events (and actions) changegate routes, each covered by real examples.
REAL_EVENTS: dict[str, tuple[str | None, ...]] = {
    "pull_request": ("opened", "reopened", "synchronize", "labeled", "unlabeled",
                     "ready_for_review", "closed"),
    "pull_request_review": ("submitted", "dismissed"),
    "check_run": ("completed",),
    "check_suite": ("completed",),
    "status": (None,),
    "push": (None,),
    "merge_group": (None,),
    "installation": (None,),
}


def webhook_files() -> tuple[Path, Path]:
    """(examples index.json, schema.json), fetched with scripts/fetch-webhook-examples if missing."""
    cache_dir = Path(os.environ.get("CHANGEGATE_NPM_CACHE", ".cache/npm"))
    if not cache_dir.is_absolute():
        cache_dir = ROOT / cache_dir
    examples, schema = cache_dir / EXAMPLES_RELATIVE, cache_dir / SCHEMA_RELATIVE
    if not (examples.is_file() and schema.is_file()):
        done = subprocess.run(["bash", str(FETCH_SCRIPT)], capture_output=True, text=True,
                              timeout=300, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"scripts/fetch-webhook-examples failed:\n{done.stderr}")
    return examples, schema


@cache
def _examples() -> dict[str, list[Payload]]:
    definitions = json.loads(webhook_files()[0].read_text("utf-8"))
    return {definition["name"]: definition["examples"] for definition in definitions}


@cache
def _schema() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(webhook_files()[1].read_text("utf-8"))
    return loaded


def schema_key(event: str, payload: Payload) -> str:
    return f"{event}${payload['action']}" if "action" in payload else f"{event}$event"


def schema_errors(event: str, payload: Payload) -> list[str]:
    definitions = _schema()["definitions"]
    key = schema_key(event, payload)
    if key not in definitions:
        return [f"webhooks-schemas has no definition {key}"]
    validator = Draft7Validator({**definitions[key], "definitions": definitions})
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(payload)]


def validate(event: str, payload: Payload) -> Payload:
    """`payload`, after checking it against webhooks-schemas (AssertionError listing problems)."""
    errors = schema_errors(event, payload)
    assert not errors, f"{schema_key(event, payload)} does not validate: {errors[:5]}"
    return payload


@cache
def _valid(event: str) -> tuple[Payload, ...]:
    return tuple(p for p in _examples().get(event, [])[1:] if not schema_errors(event, p))


def examples(event: str, action: str | None = None) -> list[Payload]:
    """Every valid real example of `event` (with `action`, if given), examples[0] skipped (old
    format, see reference/github.md). Deep copies: mutate freely."""
    found = [
        copy.deepcopy(payload)
        for payload in _valid(event)
        if action is None or payload.get("action") == action
    ]
    assert found, f"no valid real example of {event} {action or ''}"
    return found


def example(event: str, action: str | None = None) -> Payload:
    """The first valid real example of `event` (and `action`)."""
    return examples(event, action)[0]


def real_deliveries() -> list[tuple[str, Payload]]:
    """(event, payload) for every valid real example of REAL_EVENTS."""
    return [
        (event, payload)
        for event, actions in REAL_EVENTS.items()
        for action in actions
        for payload in examples(event, action)
    ]


def merged_pull_request_closed() -> Payload:
    """`pull_request` `closed` with merged=true (no real example has one)."""
    payload = example("pull_request", "closed")
    pull = payload["pull_request"]
    pull.update(merged=True, merged_at=pull["closed_at"], merged_by=copy.deepcopy(payload["sender"]),
                merge_commit_sha=pull["merge_commit_sha"] or "c4295bd74fb0f4d5a6d3a9c2f4a0b2e1d7f8a9b0",
                mergeable=None, mergeable_state="unknown")
    return validate("pull_request", payload)


def approved_review() -> Payload:
    """`pull_request_review` `submitted` with state `approved` (the examples are all comments)."""
    payload = example("pull_request_review", "submitted")
    review = payload["review"]
    review.update(state="approved", body=None, commit_id=payload["pull_request"]["head"]["sha"])
    return validate("pull_request_review", payload)


def pull_request_edited() -> Payload:
    """`pull_request` `edited` (no real example): an opened PR whose title and body changed."""
    payload = example("pull_request", "opened")
    pull = payload["pull_request"]
    payload["action"] = "edited"
    payload["changes"] = {"title": {"from": pull["title"]}, "body": {"from": pull["body"] or ""}}
    pull["title"] = f"{pull['title']} (edited)"
    pull["body"] = "What: update the README.\nWhy: it was out of date.\nRollback: revert this PR."
    return validate("pull_request", payload)


def deployment_protection_rule_requested(*, with_sha_ref: bool = False) -> Payload:
    """`deployment_protection_rule` `requested`, built from the schema definition
    `deployment_protection_rule$requested` with fields from real `deployment` (production,
    with installation), `workflow_run` and (merged) `pull_request` examples. The deployment is of
    the merged PR's merge commit; the callback URL names the workflow run to review.

    webhooks-schemas 7.6.1 forbids other top-level keys, but GitHub's newer description (OpenAPI
    `x-webhooks`) also has top-level `sha` and `ref`: `with_sha_ref=True` adds them (copied from
    the deployment) after validation, so a processor can be tested against both shapes."""
    source = next(p for p in examples("deployment", "created")
                  if p["deployment"]["environment"] == "production" and "installation" in p)
    run_id = example("workflow_run", "completed")["workflow_run"]["id"]
    repository = source["repository"]
    pull = merged_pull_request_closed()["pull_request"]
    deployment = source["deployment"]
    pull["merge_commit_sha"] = deployment["sha"]
    payload: Payload = {
        "action": "requested",
        "environment": deployment["environment"],
        "event": "push",
        "deployment_callback_url": f"{repository['url']}/actions/runs/{run_id}/deployment_protection_rule",
        "deployment": deployment,
        "pull_requests": [pull],
        "repository": repository,
        "sender": source["sender"],
        "installation": source["installation"],
    }
    validate("deployment_protection_rule", payload)
    if with_sha_ref:
        payload.update(sha=deployment["sha"], ref=deployment["ref"])
    return payload


def derived_deliveries() -> list[tuple[str, Payload]]:
    return [
        ("pull_request", merged_pull_request_closed()),
        ("pull_request_review", approved_review()),
        ("pull_request", pull_request_edited()),
        ("deployment_protection_rule", deployment_protection_rule_requested()),
    ]


def body_of(payload: Payload) -> bytes:
    """The body as GitHub sends it (compact JSON, UTF-8)."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def sign(secret: str, body: bytes) -> str:
    """`X-Hub-Signature-256` exactly as GitHub computes it."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def github_headers(event: str, delivery_id: str, body: bytes, secret: str | None) -> dict[str, str]:
    """The headers GitHub sends with a delivery (signed unless `secret` is None)."""
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "GitHub-Hookshot/044aadd",
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery_id,
        "X-GitHub-Hook-ID": "292430182",
    }
    if secret is not None:
        headers["X-Hub-Signature-256"] = sign(secret, body)
    return headers
