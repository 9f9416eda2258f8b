"""The Cloudflare emulator's fixtures, imported by name (tests/conftest.py may register them
globally later; a name defined here then simply takes precedence)."""

from __future__ import annotations

from tests.cloudflare_emulator.fixtures import cloudflare, wrangler_bin

__all__ = ["cloudflare", "wrangler_bin"]
