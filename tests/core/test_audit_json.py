"""`Change.to_json` (the audit's hand-built line) is exactly `json.dumps(Change.as_dict())`."""

from __future__ import annotations

import datetime as dt
import json

from hypothesis import given
from hypothesis import strategies as st

from changegate.core.audit_model import FINDINGS, Change

ZONES = st.sampled_from([dt.UTC, dt.timezone(dt.timedelta(hours=11)), dt.timezone(dt.timedelta(hours=-7, minutes=-30))])
MOMENTS = st.builds(lambda d, z: d.replace(tzinfo=z), st.datetimes(min_value=dt.datetime(1990, 1, 1), max_value=dt.datetime(2100, 1, 1)), ZONES)
TEXT = st.text()  # any unicode, control characters, quotes, backslashes, lone surrogates


@st.composite
def changes(draw: st.DrawFn) -> Change:
    committed = draw(MOMENTS)
    codes = draw(st.lists(st.sampled_from(sorted(FINDINGS)), unique=True))
    deployed = draw(st.none() | MOMENTS)
    return Change(sha=draw(st.text(alphabet="0123456789abcdef", min_size=40, max_size=40)),
                  kind=draw(st.sampled_from(["squash_pr", "merge_pr", "rebase_pr", "direct_push", "revert", "emergency"])),
                  pr=draw(st.none() | st.integers(min_value=0, max_value=10**9)), change_type=draw(st.none() | TEXT), committed_at=committed,
                  author=draw(TEXT), subject=draw(TEXT), findings=codes, evidence={code: draw(TEXT) for code in codes}, emergency=draw(st.none() | TEXT),
                  deployments=draw(st.lists(st.fixed_dictionaries({"id": TEXT, "state": TEXT, "deployed_at": st.none() | TEXT}), max_size=2)),
                  first_commit_at=draw(st.none() | MOMENTS), deployed_at=deployed, sources=draw(st.lists(TEXT, min_size=1, max_size=3)),
                  review=draw(st.none() | st.fixed_dictionaries({"url": st.none() | TEXT, "approvals": st.lists(st.fixed_dictionaries({"by": TEXT, "on_head": st.booleans()})),
                                                                 "approved_before_merge": st.none() | st.booleans()})))


@given(changes())
def test_to_json_is_json_dumps_of_as_dict(change: Change) -> None:
    assert change.to_json() == json.dumps(change.as_dict())
    assert json.loads(change.to_json()) == json.loads(json.dumps(change.as_dict()))


@given(MOMENTS, MOMENTS, TEXT, TEXT, st.none() | st.integers(min_value=0))
def test_change_of_is_the_dataclass_constructor(authored: dt.datetime, committed: dt.datetime, author: str, subject: str, pr: int | None) -> None:
    from changegate.core.audit_model import Commit

    commit = Commit("a" * 40, ("b" * 40,), author, "a@example.com", authored, committed, subject)
    fast = Change.of(commit, "squash_pr", pr)
    assert fast == Change(sha=commit.sha, kind="squash_pr", pr=pr, change_type=None, committed_at=committed, author=author, subject=subject,
                          first_commit_at=authored)
    fast.add("NO_APPROVAL", "x")
    assert Change.of(commit, "squash_pr", pr).findings == []  # nothing shared between changes
