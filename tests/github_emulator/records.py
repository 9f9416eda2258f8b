"""Records the emulator keeps: plain dataclasses, rendered as GitHub JSON by render.py."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

FileSpec = str | Mapping[str, Any]


def utc(text: str | dt.datetime | None, default: dt.datetime) -> dt.datetime:
    if text is None:
        return default
    if isinstance(text, dt.datetime):
        return text
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


@dataclass
class Repo:
    owner: str
    name: str
    id: int
    default_branch: str = "main"
    private: bool = False
    branches: dict[str, str] = field(default_factory=dict)  # branch -> head sha
    files: dict[str, dict[str, bytes]] = field(default_factory=dict)  # branch or sha -> path -> bytes
    installation_id: int | None = None

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.name}"


@dataclass
class Commit:
    sha: str
    message: str
    author: str
    date: dt.datetime
    parents: list[str] = field(default_factory=list)


@dataclass
class PullRequest:
    repo: str
    number: int
    id: int
    title: str
    body: str | None
    author: str
    base: str
    head: str
    base_sha: str
    head_sha: str
    created_at: dt.datetime
    updated_at: dt.datetime
    draft: bool = False
    labels: list[str] = field(default_factory=list)
    state: str = "open"
    files: list[dict[str, Any]] = field(default_factory=list)
    commits: list[Commit] = field(default_factory=list)
    merged: bool = False
    merged_at: dt.datetime | None = None
    merged_by: str | None = None
    merge_commit_sha: str | None = None
    closed_at: dt.datetime | None = None
    requested_reviewers: list[str] = field(default_factory=list)
    requested_teams: list[str] = field(default_factory=list)  # team slugs


@dataclass
class Review:
    id: int
    repo: str
    number: int
    user: str
    state: str  # REST casing: APPROVED, CHANGES_REQUESTED, COMMENTED, DISMISSED, PENDING
    commit_id: str
    body: str
    submitted_at: dt.datetime


@dataclass
class CheckRun:
    id: int
    repo: str
    head_sha: str
    name: str
    status: str
    conclusion: str | None
    started_at: dt.datetime
    completed_at: dt.datetime | None = None
    app_slug: str = "github-actions"
    details_url: str | None = None
    external_id: str = ""
    output: dict[str, Any] = field(default_factory=dict)


@dataclass
class Status:
    id: int
    repo: str
    sha: str
    context: str
    state: str
    description: str | None
    target_url: str | None
    creator: str
    created_at: dt.datetime


@dataclass
class Installation:
    id: int
    account: str
    app_id: int
    repositories: list[str] = field(default_factory=list)


@dataclass
class IssuedToken:
    token: str
    installation_id: int
    expires_at: dt.datetime


@dataclass
class Call:
    method: str
    path: str
    query: str
    status: int


def git_sha(*parts: object) -> str:
    return hashlib.sha1("\0".join(map(str, parts)).encode()).hexdigest()
