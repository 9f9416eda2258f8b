"""GitHub API calls per PR re-evaluation, counted by the emulator (the same client and gate as
production). Run: python -m bench.github_calls [--prs N]

For each PR: opened (cold caches), then alternating `synchronize` (a new push) and
`pull_request_review` submitted events; calls are counted per event by the client and checked
against the emulator's own request log. Target: <= 4 calls per re-evaluation on average.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import statistics

from tests.gate.story import GOOD_BODY, REPO, event, green, seed
from tests.github.conftest import make_client
from tests.github_emulator import Emulator

from changegate.services.gate import Gate
from changegate.services.snapshots import SnapshotSource

AT = dt.datetime(2026, 11, 24, 0, 30, tzinfo=dt.UTC)


async def measure(emulator: Emulator, prs: int, rounds: int) -> dict[str, list[int]]:
    counts: dict[str, list[int]] = {"opened": [], "synchronize": [], "review_submitted": []}
    async with make_client(emulator) as client:
        gate = Gate(SnapshotSource(client, clock=lambda: AT), clock=lambda: AT)

        async def run(kind: str, name: str, action: str, number: int) -> None:
            before, seen = client.calls, emulator.calls
            await gate.process(*event(emulator, name, action, number), delivery_id=f"{kind}-{number}-{len(counts[kind])}")
            used = client.calls - before
            served = emulator.calls - seen - (1 if name in {"pull_request", "pull_request_review"} else 0)  # minus the payload fetch
            assert used == served, (kind, used, served)
            counts[kind].append(used)

        for offset in range(prs):
            number = 100 + offset
            pull = emulator.state.open_pull(REPO, number=number, title="Retry payment webhooks", body=GOOD_BODY, files=("src/app.ts",))
            green(emulator, pull.head_sha)
            await run("opened", "pull_request", "opened", number)
            for _ in range(rounds):
                head = emulator.state.push(REPO, number, files=("src/app.ts", "src/retry.ts"))
                green(emulator, head)
                await run("synchronize", "pull_request", "synchronize", number)
                emulator.state.submit_review(REPO, number, user="hubot")
                await run("review_submitted", "pull_request_review", "submitted", number)
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--prs", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with Emulator(tokens={"test-token": "octocat"}) as emulator:
        seed(emulator)
        counts = asyncio.run(measure(emulator, args.prs, args.rounds))
        assert not emulator.validation_errors, emulator.validation_errors[:3]
    print(f"GitHub API calls per re-evaluation ({args.prs} PRs, {args.rounds} push+review rounds each)")
    print("| event | evaluations | mean calls | min | max |")
    print("|---|---|---|---|---|")
    for kind, values in counts.items():
        print(f"| {kind} | {len(values)} | {statistics.mean(values):.2f} | {min(values)} | {max(values)} |")
    steady = counts["synchronize"] + counts["review_submitted"]
    print(f"\nsynchronize + review submitted: mean {statistics.mean(steady):.2f} calls per re-evaluation (target <= 4)")


if __name__ == "__main__":
    main()
