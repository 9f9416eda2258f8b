"""The policy: the Change Management Procedure as data (`changegate.yml`).

Pure: pydantic models only. Structural validation is pydantic's; cross-references (roles, windows,
time zones, regexes, overlapping hours) are checked in `policy_check.py`.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field


class ChangeType(StrEnum):
    STANDARD = "standard"
    SIGNIFICANT = "significant"
    EMERGENCY = "emergency"

    @property
    def rank(self) -> int:
        return _RANK[self]


_RANK = {ChangeType.STANDARD: 0, ChangeType.SIGNIFICANT: 1, ChangeType.EMERGENCY: 2}

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
ClockTime = Annotated[str, Field(pattern=r"^(([01]\d|2[0-3]):[0-5]\d|24:00)$")]
Channel = Literal["slack", "phone", "in-person"]
CHANNELS: tuple[Channel, ...] = ("slack", "phone", "in-person")
DescriptionPart = Literal["what_why", "rollback_plan", "design_review"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Procedure(_Model):
    """The procedure document's own metadata; an overdue `next_review` is reported."""

    title: str = "Change Management Procedure"
    implements: str | None = None
    owner: str
    last_updated: dt.date
    next_review: dt.date
    review_interval_months: int = Field(default=6, ge=1, le=36)


class HolidayCalendar(_Model):
    country: str = "AU"
    subdivision: str | None = "NSW"


class HourRange(_Model):
    """Open on these weekdays from `start` (inclusive) to `end` (exclusive), local wall time."""

    days: list[Weekday] = Field(min_length=1)
    start: ClockTime
    end: ClockTime

    @property
    def start_minute(self) -> int:
        return _minutes(self.start)

    @property
    def end_minute(self) -> int:
        return _minutes(self.end)


def _minutes(clock: str) -> int:
    hours, minutes = clock.split(":")
    return int(hours) * 60 + int(minutes)


class Window(_Model):
    """A deployment window: `always: true`, or weekly `hours` minus public holidays."""

    description: str | None = None
    always: bool = False
    hours: list[HourRange] = Field(default_factory=list)
    exclude_public_holidays: bool = True


class Freeze(_Model):
    """A change freeze: no deploy of the listed types between `start` and `end`."""

    name: str
    start: dt.datetime
    end: dt.datetime
    types: list[ChangeType] = Field(
        default_factory=lambda: [ChangeType.STANDARD, ChangeType.SIGNIFICANT]
    )
    reason: str | None = None


class Approvals(_Model):
    count: int = Field(ge=0, le=20)
    required_roles: list[str] = Field(default_factory=list)


class VerbalApproval(_Model):
    roles: list[str] = Field(min_length=1)
    channels: list[Channel] = Field(default_factory=lambda: list(CHANNELS))
    allow_self_approval: bool = False
    confirm_within_hours: float | None = Field(default=None, gt=0)


class PostHocPR(_Model):
    within_hours: float = Field(default=24, gt=0)
    approvals: int = Field(default=1, ge=0, le=20)


class PostIncidentReview(_Model):
    required: bool = True
    due_business_days: int = Field(default=5, ge=1, le=60)
    question: str = "Could the emergency have been prevented?"


def _what_why() -> list[DescriptionPart]:
    return ["what_why"]


class TypePolicy(_Model):
    """What the procedure requires of one change type."""

    definition: str
    approvals: Approvals | None = None
    verbal_approval: VerbalApproval | None = None
    posthoc_pr: PostHocPR | None = None
    post_incident_review: PostIncidentReview | None = None
    window: str
    description: list[DescriptionPart] = Field(default_factory=_what_why)
    required_checks: bool = True
    codeowners: bool = True
    design_review_before_implementation: bool = False
    staged_rollout: bool = False
    monitoring_minutes: int = Field(default=30, ge=0, le=24 * 60)


class Types(_Model):
    standard: TypePolicy
    significant: TypePolicy
    emergency: TypePolicy

    def of(self, change_type: ChangeType) -> TypePolicy:
        policy: TypePolicy = getattr(self, change_type.value)
        return policy


class ClassificationRule(_Model):
    """Fires when any matcher matches: a changed path, a label, or the title."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]*$")
    type: Literal[ChangeType.STANDARD, ChangeType.SIGNIFICANT]
    category: Literal["feature", "api", "infrastructure", "security", "routine"]
    reason: str
    paths: list[str] = Field(default_factory=list)
    labels: list[str] = Field(default_factory=list)
    title: str | None = None


class Classification(_Model):
    rules: list[ClassificationRule] = Field(default_factory=list)
    type_labels: dict[str, ChangeType] = Field(default_factory=dict)
    emergency_labels: list[str] = Field(default_factory=lambda: ["emergency"])


class ReviewSettings(_Model):
    require_approval_on_head: bool = True
    count_bots: bool = False
    bot_logins: list[str] = Field(default_factory=list)
    exclude_commit_authors: bool = True


class CheckSettings(_Model):
    required: list[str] = Field(default_factory=lambda: ["lint", "test", "build"])
    neutral_is_success: bool = True
    skipped_is_success: bool = True


class Section(_Model):
    headings: list[str] = Field(min_length=1)
    min_chars: int = Field(default=10, ge=1)


class DescriptionSettings(_Model):
    what: Section = Section(headings=["what", "summary", "changes"])
    why: Section = Section(headings=["why", "motivation", "context", "reason"])
    rollback_plan: Section = Section(headings=["rollback plan", "rollback", "back-out plan"])
    design_review: Section = Section(headings=["design review", "design"])


class MergeSettings(_Model):
    method: Literal["squash", "merge", "rebase", "any"] = "squash"


class Endpoint(_Model):
    """A key endpoint to verify after a deploy (the procedure's "Verify key endpoints")."""

    name: str
    method: Literal["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"] = "GET"
    url: str = Field(pattern=r"^https?://")
    status: int = Field(default=200, ge=100, le=599)
    body_contains: str | None = None
    json_pointer: str | None = Field(default=None, pattern=r"^(/.*)?$")
    json_value: str | int | float | bool | None = None
    latency_ms: int = Field(default=2000, ge=1, le=120_000)
    headers: dict[str, str] = Field(default_factory=dict)


class ErrorRate(_Model):
    """Error-rate thresholds: an absolute ceiling, and a rise over the rate before the deploy."""

    max: float = Field(default=0.02, ge=0, le=1)
    max_increase: float = Field(default=0.01, ge=0, le=1)
    min_requests: int = Field(default=20, ge=0)


class Monitoring(_Model):
    """Minutes of post-deploy monitoring per change type (default: the type's own), poll interval."""

    standard: float | None = Field(default=None, ge=0)
    significant: float | None = Field(default=None, ge=0)
    emergency: float | None = Field(default=None, ge=0)
    poll_seconds: float = Field(default=60, gt=0)
    lag_seconds: float = Field(default=180, ge=0)


class Service(_Model):
    """A deployable thing: a Worker (Rust or TypeScript), a command, or a mobile app."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]*$")
    kind: Literal["rust-worker", "ts-worker", "command", "mobile"]
    scripts: dict[Literal["sandbox", "production"], str] = Field(default_factory=dict)
    directory: str = "."
    build: str | None = None
    deploy: str | None = None
    endpoints: dict[Literal["sandbox", "production"], list[Endpoint]] = Field(default_factory=dict)
    error_rate: ErrorRate = ErrorRate()
    monitoring: Monitoring = Monitoring()
    rollout: list[int] = Field(default_factory=list)
    allow_forced_rollback: bool = False
    revert_remote: str = "origin"
    branch: str = "main"


class DeploySettings(_Model):
    """GitHub environments gated by changegate's deployment protection rule."""

    production_environments: list[str] = Field(default_factory=lambda: ["production"])
    sandbox_environments: list[str] = Field(default_factory=lambda: ["sandbox", "staging"])


class Policy(_Model):
    version: Literal[1] = 1
    procedure: Procedure
    timezone: str = "Australia/Sydney"
    holidays: HolidayCalendar = HolidayCalendar()
    roles: dict[str, list[str]] = Field(default_factory=dict)
    windows: dict[str, Window]
    freezes: list[Freeze] = Field(default_factory=list)
    types: Types
    classification: Classification = Classification()
    review: ReviewSettings = ReviewSettings()
    checks: CheckSettings = CheckSettings()
    description: DescriptionSettings = DescriptionSettings()
    merge: MergeSettings = MergeSettings()
    deploy: DeploySettings = DeploySettings()
    services: list[Service] = Field(default_factory=list)

    def service(self, name: str) -> Service | None:
        return next((service for service in self.services if service.name == name), None)
