"""A faithful loopback Cloudflare Workers API emulator (deployments, versions, GraphQL
analytics) that the real wrangler 4.86.0 runs against. See API.md beside this file."""

from __future__ import annotations

from .records import Call, Deployment, Script, Version, iso
from .server import CloudflareEmulator
from .state import ApiError, CloudflareState
from .wrangler import Wrangler, WranglerResult, wrangler_env

__all__ = [
    "ApiError", "Call", "CloudflareEmulator", "CloudflareState", "Deployment", "Script", "Version", "Wrangler",
    "WranglerResult", "iso", "wrangler_env",
]
