"""CODEOWNERS: the indexed matcher agrees with the codeowners package (last match wins)."""

from __future__ import annotations

import random

from codeowners import CodeOwners

from changegate.core.owners import OwnersIndex

TEXT = """
* @org/eng
*.md @org/docs
/services/ @org/platform
/services/payments/ @org/payments
services/legacy/ @org/legacy
/apps/**/config/ @org/config
docs/*.txt @org/writers
/build/logs/ @org/ops
/services/payments/keys/ @org/security @alice
**/secrets/** @org/security
/file\\ with\\ spaces.txt @bob
/src/*.ts @carol
"""

PATHS = [
    "README.md", "services/api/main.rs", "services/payments/charge.ts", "services/payments/keys/k.pem",
    "x/services/legacy/old.py", "services/legacy/old.py", "apps/web/a/b/config/x.json", "docs/a.txt",
    "docs/sub/a.txt", "build/logs/x.log", "lib/secrets/token", "file with spaces.txt", "src/a.ts",
    "src/deep/a.ts", "unowned.bin",
]


def owners_via_library(text: str, path: str) -> list[str]:
    return [owner for _kind, owner in CodeOwners(text).of(path)]


def owners_via_index(text: str, path: str) -> list[str]:
    rule = OwnersIndex(text).rule_for(path)
    return list(rule.owners) if rule else []


def test_index_agrees_with_the_library_on_known_paths() -> None:
    for path in PATHS:
        assert owners_via_index(TEXT, path) == owners_via_library(TEXT, path), path


def test_index_agrees_on_random_trees() -> None:
    rng = random.Random(7)
    dirs = ["services", "apps", "docs", "src", "build", "lib", "payments", "config", "secrets", "legacy"]
    for _ in range(500):
        path = "/".join(rng.choice(dirs) for _ in range(rng.randint(0, 4))) + "/" + rng.choice(["a.ts", "b.md", "c.txt", "d"])
        path = path.lstrip("/")
        assert owners_via_index(TEXT, path) == owners_via_library(TEXT, path), path


def test_last_matching_line_wins() -> None:
    rule = OwnersIndex(TEXT).rule_for("services/payments/keys/k.pem")
    assert rule is not None and rule.owners == ("@org/security", "@alice")


def test_spaces_in_any_segment_follow_the_library() -> None:
    text = "/docs/ @docs\n/docs files/ @spaced\n* @all\n/a/b c/ @deep\n"
    for path in ["docs files/readme.md", "docs/x.md", "a/b c/d.txt", "a/b/c.txt", "x y/z"]:
        assert owners_via_index(text, path) == owners_via_library(text, path), path


def test_monorepo_prefixes_agree_with_the_library() -> None:
    rng = random.Random(11)
    lines = ["* @org/eng"] + [f"/services/s{i}/{sub}/ @org/t{i}" for i in range(40) for sub in ("api", "web")]
    lines += ["*.md @org/docs", "/services/**/tests/ @org/qa", "/services/s3/ @org/three"]
    text = "\n".join(lines)
    for _ in range(2000):
        parts = ["services", f"s{rng.randint(0, 45)}", rng.choice(["api", "web", "tests", "lib"]), rng.choice(["tests", "x"]), rng.choice(["a.md", "b.ts"])]
        path = "/".join(parts[: rng.randint(1, 5)])
        assert owners_via_index(text, path) == owners_via_library(text, path), path
