"""Classification path matching agrees with pathspec's gitignore semantics."""

from __future__ import annotations

import random

import pathspec

from changegate.core.classify import PathMatcher
from changegate.core.policy import Policy


def test_joined_matcher_agrees_with_pathspec(default_policy: Policy) -> None:
    rng = random.Random(5)
    parts = ["src", "infra", ".github", "workflows", "auth", "api", "openapi.yaml", "schema.graphql", "main.tf",
             "wrangler.toml", "Dockerfile", "CODEOWNERS", "my_auth.ts", "x.proto", "docs", "readme.md", "crypto"]
    paths = ["/".join(rng.choice(parts) for _ in range(rng.randint(1, 4))) for _ in range(3000)]
    for rule in default_policy.classification.rules:
        if not rule.paths:
            continue
        expected = set(pathspec.GitIgnoreSpec.from_lines(rule.paths).match_files(paths))
        assert set(PathMatcher(rule.paths).match_files(paths)) == expected, rule.id


def test_negated_patterns_fall_back_to_pathspec() -> None:
    matcher = PathMatcher(["infra/", "!infra/docs/"])
    assert matcher.match_files(["infra/main.tf", "infra/docs/readme.md"]) == ["infra/main.tf"]
