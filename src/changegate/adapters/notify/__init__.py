"""Notifications (best effort): Slack when `CHANGEGATE_SLACK_WEBHOOK_URL` is set, else nothing."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from changegate.adapters.notify.slack import SlackNotifier
from changegate.settings import slack_webhook_url

log = logging.getLogger("changegate.notify")

__all__ = ["NullNotifier", "SlackNotifier", "notifier_from_env"]


class NullNotifier:
    """Notifications switched off: each text is only logged at debug level."""

    def notify(self, text: str) -> None:
        log.debug("notification (no webhook configured): %s", text)


def notifier_from_env(environ: Mapping[str, str] | None = None) -> SlackNotifier | NullNotifier:
    """A SlackNotifier for `CHANGEGATE_SLACK_WEBHOOK_URL`, or a NullNotifier when it is unset."""
    url = slack_webhook_url(environ)
    return SlackNotifier(url) if url else NullNotifier()
