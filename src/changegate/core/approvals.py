"""Who has approved: latest review per reviewer, separation of duties, stale approvals. Pure.

A reviewer's latest APPROVED / CHANGES_REQUESTED / DISMISSED review wins (comments don't change
it). An approval counts only from a human who is neither the PR author nor a commit author, and
(by default) only when given on the current head commit.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from changegate.core.policy import Policy
from changegate.core.snapshot import Review, Snapshot

DECISIVE = frozenset({"APPROVED", "CHANGES_REQUESTED", "DISMISSED"})
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


@dataclass(frozen=True)
class Approvals:
    counted: tuple[str, ...]
    stale: tuple[str, ...] = ()
    excluded: dict[str, str] = field(default_factory=dict)
    changes_requested: tuple[str, ...] = ()

    def evidence(self) -> dict[str, object]:
        return {
            "approved_by": list(self.counted),
            "stale_approvals": list(self.stale),
            "not_counted": dict(self.excluded),
            "changes_requested_by": list(self.changes_requested),
        }


def change_authors(snapshot: Snapshot, policy: Policy) -> dict[str, str]:
    """Lower-cased logins of everyone who authored the change, with their part in it."""
    authors = {snapshot.pull_request.user.login.lower(): "the PR author"}
    if policy.review.exclude_commit_authors:
        for commit in snapshot.commits:
            if commit.author is not None:
                authors.setdefault(commit.author.login.lower(), f"author of commit {commit.sha[:7]}")
    return authors


def latest_reviews(reviews: list[Review]) -> dict[str, Review]:
    """Each reviewer's latest decisive review, keyed by lower-cased login."""
    ordered = sorted(
        (r for r in reviews if r.user is not None and r.state in DECISIVE),
        key=lambda r: (r.submitted_at or _EPOCH, r.id),
    )
    latest: dict[str, Review] = {}
    for review in ordered:
        assert review.user is not None
        latest[review.user.login.lower()] = review
    return latest


def analyse(snapshot: Snapshot, policy: Policy) -> Approvals:
    authors = change_authors(snapshot, policy)
    bots = {login.lower() for login in policy.review.bot_logins}
    counted: list[str] = []
    stale: list[str] = []
    excluded: dict[str, str] = {}
    blocking: list[str] = []
    for login, review in latest_reviews(snapshot.reviews).items():
        assert review.user is not None
        shown = review.user.login
        if review.state == "CHANGES_REQUESTED":
            blocking.append(shown)
        if review.state != "APPROVED":
            continue
        if login in authors:
            excluded[shown] = f"self-approval: {authors[login]}"
        elif (review.user.is_bot or login in bots) and not policy.review.count_bots:
            excluded[shown] = "a bot (the policy does not count bots)"
        elif policy.review.require_approval_on_head and review.commit_id != snapshot.head_sha:
            stale.append(shown)
            excluded[shown] = f"approved {(review.commit_id or 'an unknown commit')[:7]}, not the head {snapshot.head_sha[:7]}"
        else:
            counted.append(shown)
    return Approvals(tuple(counted), tuple(stale), excluded, tuple(blocking))
