"""The audit's aggregates over a run of changes, mergeable: the population is tallied in chunks, a
chunk's tally is kept with its results, and a repeated audit adds up stored tallies instead of
re-reading history. Pure: no I/O, no clock.

The auditor's sample is order-independent so that it is the same however the population was
tallied: the `SAMPLE_SIZE` changes whose sha, read as a number (its first 64 bits) and XORed with a
mask derived from the seed (the first 64 bits of SHA-256 of the seed), is smallest. Commit shas are
uniformly distributed, so this is a uniform sample without replacement; XOR with the mask makes it
a different one per seed, and anyone can reproduce it from the population, the seed and the rule.
"""

from __future__ import annotations

import hashlib
import heapq
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from changegate.core.audit_model import Change

SAMPLE_SIZE = 25
SAMPLE_METHOD = ("the changes with the smallest int(sha[:16], 16) XOR int(sha256(str(seed))[:16], 16): a seeded uniform sample without replacement, "
                 "independent of the order the population is read in")
WEEK_KEYS = ("standard", "significant", "emergency", "unknown", "exceptions", "deploys")


def sample_mask(seed: int) -> int:
    return int(hashlib.sha256(str(seed).encode()).hexdigest()[:16], 16)


@dataclass
class Tally:
    population: int = 0
    kinds: Counter[str] = field(default_factory=Counter)
    findings: Counter[str] = field(default_factory=Counter)
    weekly: dict[str, Counter[str]] = field(default_factory=dict)
    direct_pushes: list[str] = field(default_factory=list)  # commits without a PR or an emergency record
    deployed: list[str] = field(default_factory=list)  # shas with a deployment record (for reconciliation)
    lead_times: list[float] = field(default_factory=list)
    fixes: list[float] = field(default_factory=list)  # when reverts and emergency changes landed (POSIX seconds): DORA's failures
    sample: list[tuple[int, str]] = field(default_factory=list)  # max-heap of (-digest, sha)

    def add(self, change: Change, week: str, digest: int, deployed: bool) -> None:
        self.population += 1  # once per change of the whole history: plain dict operations, no Counter.update
        kinds, counts, findings = self.kinds, self.findings, change.findings
        kinds[change.kind] = kinds.get(change.kind, 0) + 1
        bucket = self.weekly.get(week)
        if bucket is None:
            bucket = self.weekly[week] = Counter()
        kind = change.change_type or "unknown"
        bucket[kind] = bucket.get(kind, 0) + 1
        if findings:
            for code in findings:
                counts[code] = counts.get(code, 0) + 1
            if len(findings) > 1 or findings[0] != "UNDEPLOYED_CHANGE":
                bucket["exceptions"] = bucket.get("exceptions", 0) + 1
        if change.deployments:
            bucket["deploys"] += len(change.deployments)
        if change.kind == "direct_push":
            self.direct_pushes.append(change.sha)
        elif change.kind == "revert" or change.kind == "emergency":
            self.fixes.append(change.committed_at.timestamp())
        if deployed:
            self.deployed.append(change.sha)
        if change.deployed_at is not None:
            self.lead_times.append((change.deployed_at - (change.first_commit_at or change.committed_at)).total_seconds())
        if len(self.sample) < SAMPLE_SIZE:
            heapq.heappush(self.sample, (-digest, change.sha))
        elif -digest > self.sample[0][0]:
            heapq.heapreplace(self.sample, (-digest, change.sha))

    def merge(self, other: Tally) -> None:
        self.population += other.population
        self.kinds.update(other.kinds)
        self.findings.update(other.findings)
        for week, bucket in other.weekly.items():
            self.weekly.setdefault(week, Counter()).update(bucket)
        self.direct_pushes.extend(other.direct_pushes)
        self.deployed.extend(other.deployed)
        self.lead_times.extend(other.lead_times)
        self.fixes.extend(other.fixes)
        for item in other.sample:
            if len(self.sample) < SAMPLE_SIZE:
                heapq.heappush(self.sample, item)
            elif item[0] > self.sample[0][0]:
                heapq.heapreplace(self.sample, item)

    def as_dict(self) -> dict[str, Any]:
        return {"population": self.population, "kinds": dict(self.kinds), "findings": dict(self.findings),
                "weekly": {week: dict(bucket) for week, bucket in self.weekly.items()}, "direct_pushes": self.direct_pushes,
                "deployed": self.deployed, "lead_times": self.lead_times, "fixes": self.fixes, "sample": [[-key, sha] for key, sha in self.sample]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Tally:
        tally = cls(population=int(data["population"]), kinds=Counter(data["kinds"]), findings=Counter(data["findings"]),
                    weekly={week: Counter(bucket) for week, bucket in data["weekly"].items()}, direct_pushes=list(data["direct_pushes"]),
                    deployed=list(data["deployed"]), lead_times=[float(v) for v in data["lead_times"]], fixes=[float(v) for v in data["fixes"]], sample=[(-int(key), str(sha)) for key, sha in data["sample"]])
        heapq.heapify(tally.sample)
        return tally

    def weeks(self) -> list[dict[str, Any]]:
        return [{"week": week, **{k: bucket.get(k, 0) for k in WEEK_KEYS}} for week, bucket in sorted(self.weekly.items())]

    def sample_ids(self) -> list[str]:
        return sorted(sha for _key, sha in self.sample)
