"""The Verdict: the change type with its reasons, and each requirement's state and evidence. Pure."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from changegate.core.policy import ChangeType
from changegate.core.window_decision import WindowDecision


class State(StrEnum):
    SATISFIED = "satisfied"
    PENDING = "pending"
    FAILED = "failed"


class Overall(StrEnum):
    PASS = "pass"
    PENDING = "pending"
    FAIL = "fail"


@dataclass(frozen=True)
class TypeReason:
    """One classification rule that fired, with what made it fire."""

    rule: str
    category: str
    change_type: ChangeType
    detail: str
    files: tuple[str, ...] = ()
    labels: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "category": self.category,
            "type": self.change_type.value,
            "detail": self.detail,
            "files": list(self.files),
            "labels": list(self.labels),
        }


@dataclass(frozen=True)
class Requirement:
    """One thing the procedure requires of this change. `detail` names who can act."""

    id: str
    state: State
    detail: str
    evidence: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "state": self.state.value, "detail": self.detail, "evidence": self.evidence}


@dataclass(frozen=True)
class Verdict:
    repository: str
    pull_request: int
    head_sha: str
    evaluated_at: dt.datetime
    change_type: ChangeType
    type_reasons: tuple[TypeReason, ...]
    requirements: tuple[Requirement, ...]
    warnings: tuple[str, ...] = ()
    after_merge: tuple[str, ...] = ()
    deploy_window: WindowDecision | None = None

    @property
    def state(self) -> Overall:
        states = {requirement.state for requirement in self.requirements}
        if State.FAILED in states:
            return Overall.FAIL
        if State.PENDING in states:
            return Overall.PENDING
        return Overall.PASS

    def requirement(self, requirement_id: str) -> Requirement | None:
        return next((r for r in self.requirements if r.id == requirement_id), None)

    def as_dict(self) -> dict[str, Any]:
        return {
            "repository": self.repository,
            "pull_request": self.pull_request,
            "head_sha": self.head_sha,
            "evaluated_at": self.evaluated_at.isoformat(),
            "change_type": self.change_type.value,
            "state": self.state.value,
            "type_reasons": [reason.as_dict() for reason in self.type_reasons],
            "requirements": [requirement.as_dict() for requirement in self.requirements],
            "warnings": list(self.warnings),
            "after_merge": list(self.after_merge),
            "deploy_window": _window_dict(self.deploy_window),
        }


def _window_dict(decision: WindowDecision | None) -> dict[str, Any] | None:
    if decision is None:
        return None
    return {
        "window": decision.window,
        "open": decision.open,
        "next_open": decision.next_open.isoformat() if decision.next_open else None,
        "closes_at": decision.closes_at.isoformat() if decision.closes_at else None,
        "reason": decision.reason,
    }


def worst(states: list[State]) -> State:
    if State.FAILED in states:
        return State.FAILED
    if State.PENDING in states:
        return State.PENDING
    return State.SATISFIED
