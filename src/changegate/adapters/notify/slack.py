"""Slack incoming-webhook notifications. Best effort: a failure is logged, never raised, and the
webhook URL (a secret: whoever holds it can post) never appears in a log line or repr."""

from __future__ import annotations

import logging

import httpx

log = logging.getLogger("changegate.notify")

TEXT_LIMIT = 3900  # Slack truncates long messages; keep one readable message


class SlackNotifier:
    def __init__(self, url: str, *, client: httpx.Client | None = None, timeout: float = 10.0) -> None:
        self._url = url
        self._timeout = timeout
        self._client = client

    def __repr__(self) -> str:
        return "SlackNotifier(url='***')"

    def notify(self, text: str) -> None:
        """POST {"text": text} to the webhook; log (without the URL) when that fails."""
        body = {"text": text if len(text) <= TEXT_LIMIT else text[: TEXT_LIMIT - 1] + "…"}
        try:
            if self._client is not None:
                response = self._client.post(self._url, json=body, timeout=self._timeout)
            else:
                response = httpx.post(self._url, json=body, timeout=self._timeout)
        except Exception as error:  # best effort: nothing may escape
            log.warning("Slack notification failed: %s", self._mask(f"{type(error).__name__}: {error}"))
            return
        if not response.is_success:
            log.warning("Slack notification failed: HTTP %d %s", response.status_code, self._mask(response.text[:200]))

    def _mask(self, text: str) -> str:
        return text.replace(self._url, "***").replace(self._url.split("://", 1)[-1], "***")
