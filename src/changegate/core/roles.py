"""Resolve role members and CODEOWNERS owners ("@login", "@org/team") to logins. Pure.

Team membership comes from the snapshot's `teams` map; a team that is not in it cannot be
resolved, and the caller fails closed (the requirement stays pending and says why).
"""

from __future__ import annotations

from dataclasses import dataclass

from changegate.core.memo import IdentityMemo
from changegate.core.policy import Policy
from changegate.core.snapshot import Snapshot


@dataclass(frozen=True)
class Members:
    logins: frozenset[str]
    unresolved: tuple[str, ...] = ()

    def has(self, login: str) -> bool:
        return login.lower() in self.logins


def expand(entry: str, *, owner: str) -> str:
    return entry.replace("{org}", owner)


def _lower_teams(teams: dict[str, list[str]]) -> dict[str, list[str]]:
    return {name.lower(): members for name, members in teams.items()}


_teams_by_name = IdentityMemo(_lower_teams)


def resolve(entries: list[str] | tuple[str, ...], snapshot: Snapshot) -> Members:
    return resolve_in(entries, owner=snapshot.owner, teams=snapshot.teams)


def resolve_in(entries: list[str] | tuple[str, ...], *, owner: str, teams: dict[str, list[str]]) -> Members:
    """Resolve '@login' / '@org/team' entries with the given team memberships."""
    logins: set[str] = set()
    unresolved: list[str] = []
    by_name = _teams_by_name(teams)
    for raw in entries:
        entry = expand(raw, owner=owner).lstrip("@")
        if "/" not in entry:
            logins.add(entry.lower())
            continue
        members = by_name.get(entry.lower())
        if members is None:
            unresolved.append("@" + entry)
        else:
            logins.update(member.lower() for member in members)
    return Members(frozenset(logins), tuple(unresolved))


def role_members(policy: Policy, role: str, snapshot: Snapshot) -> Members:
    return resolve(policy.roles.get(role, []), snapshot)


def describe(policy: Policy, role: str, snapshot: Snapshot) -> str:
    """'the Security Lead (@acme/security-lead: alice, bob)'."""
    entries = [expand(entry, owner=snapshot.owner) for entry in policy.roles.get(role, [])]
    members = role_members(policy, role, snapshot)
    names = sorted(members.logins)
    who = ", ".join(entries)
    if names:
        who += ": " + ", ".join(names)
    return f"the {role_title(role)} ({who})"


def role_title(role: str) -> str:
    special = {"isms_owner": "ISMS Owner", "security_lead": "Security Lead"}
    return special.get(role, role.replace("_", " ").title())
