"""The PR snapshot: everything a verdict depends on, as GitHub's own REST responses. Pure.

Inner objects are accepted verbatim (unknown GitHub fields are kept and ignored); only the
fields changegate reads are declared. The top level is strict so a misspelt key is reported.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from changegate.core.policy import Channel


class _GitHub(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)


class User(_GitHub):
    login: str
    type: str = "User"

    @property
    def is_bot(self) -> bool:
        return self.type == "Bot" or self.login.endswith("[bot]")


class Label(_GitHub):
    name: str


class Ref(_GitHub):
    ref: str
    sha: str


class PullRequest(_GitHub):
    number: int
    title: str
    body: str | None = None
    state: str
    user: User
    head: Ref
    base: Ref
    labels: list[Label] = Field(default_factory=list)
    draft: bool = False
    merged: bool | None = None
    created_at: dt.datetime
    merged_at: dt.datetime | None = None
    html_url: str | None = None


class ChangedFile(_GitHub):
    filename: str
    status: str
    previous_filename: str | None = None


class Review(_GitHub):
    id: int
    user: User | None
    state: str
    commit_id: str | None = None
    submitted_at: dt.datetime | None = None

    @field_validator("state")
    @classmethod
    def _upper(cls, state: str) -> str:
        return state.upper()


class Commit(_GitHub):
    sha: str
    author: User | None = None
    committer: User | None = None


class CheckRun(_GitHub):
    id: int
    name: str
    head_sha: str
    status: str
    conclusion: str | None = None
    started_at: dt.datetime | None = None
    completed_at: dt.datetime | None = None
    html_url: str | None = None


class Status(_GitHub):
    context: str
    state: str
    updated_at: dt.datetime | None = None
    target_url: str | None = None


class Emergency(BaseModel):
    """changegate's own record of a declared emergency (see `changegate emergency declare`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    incident: str
    severity: Literal["P1", "P2"]
    reason: str | None = None
    declared_by: str
    declared_at: dt.datetime
    approved_by: str | None = None
    channel: Channel | None = None
    approved_at: dt.datetime | None = None
    confirmed_at: dt.datetime | None = None  # the approver's own confirmation (`changegate emergency confirm`)
    deployed_at: dt.datetime | None = None
    pull_request: int | None = None


class Snapshot(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    repository: str = Field(pattern=r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")
    pull_request: PullRequest
    files: list[ChangedFile]
    reviews: list[Review] = Field(default_factory=list)
    commits: list[Commit] = Field(default_factory=list)
    check_runs: list[CheckRun] = Field(default_factory=list)
    statuses: list[Status] = Field(default_factory=list)
    codeowners: str | None = None
    teams: dict[str, list[str]] = Field(default_factory=dict)
    emergency: Emergency | None = None
    fetched_at: dt.datetime

    @property
    def owner(self) -> str:
        return self.repository.split("/", 1)[0]

    @property
    def head_sha(self) -> str:
        return self.pull_request.head.sha

    @property
    def labels(self) -> list[str]:
        return [label.name for label in self.pull_request.labels]


class SnapshotInvalid(Exception):
    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def parse_snapshot(data: Any) -> Snapshot:
    """Validate a decoded snapshot document; raise SnapshotInvalid naming each bad key."""
    if not isinstance(data, Mapping):
        raise SnapshotInvalid(["the snapshot must be a JSON object"])
    try:
        return Snapshot.model_validate(data)
    except ValidationError as error:
        raise SnapshotInvalid([_describe(item) for item in error.errors()]) from None


def _describe(item: Any) -> str:
    where = ".".join(str(part) for part in item["loc"]) or "(top level)"
    kind = item["type"]
    if kind == "missing":
        return f"{where}: required key is missing"
    if kind == "extra_forbidden":
        return f"{where}: unknown key (expected repository, pull_request, files, reviews, commits, check_runs, statuses, codeowners, teams, emergency, fetched_at)"
    given = item.get("input")
    shown = "" if isinstance(given, Mapping | list) else f" (got {given!r})"
    return f"{where}: {item['msg']}{shown}"
