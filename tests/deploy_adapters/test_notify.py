"""SlackNotifier against a loopback webhook; failures are logged without the URL, never raised."""

from __future__ import annotations

import json
import logging

import pytest

from changegate.adapters.notify import NullNotifier, SlackNotifier, notifier_from_env
from changegate.settings import SettingsError

from .loopback import free_port, serve, text_reply

HOOK = "/services/T000/B000/XXXXSECRETXXXX"


def test_posts_text_to_the_webhook() -> None:
    with serve({f"POST {HOOK}": text_reply("ok")}) as slack:
        SlackNotifier(slack.url + HOOK).notify(":rocket: deploying api abc1234")
    [request] = slack.requests
    assert request["headers"]["Content-Type"] == "application/json"
    assert json.loads(request["body"]) == {"text": ":rocket: deploying api abc1234"}


def test_long_texts_are_cut() -> None:
    with serve({f"POST {HOOK}": text_reply("ok")}) as slack:
        SlackNotifier(slack.url + HOOK).notify("x" * 10_000)
    assert len(json.loads(slack.requests[0]["body"])["text"]) == 3900


def test_a_failing_slack_is_logged_without_the_url(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="changegate.notify")
    with serve({f"POST {HOOK}": text_reply("no_service", 404)}) as slack:
        url = slack.url + HOOK
        SlackNotifier(url).notify("hello")
    SlackNotifier(f"http://127.0.0.1:{free_port()}{HOOK}").notify("hello")  # connection refused
    SlackNotifier(f"nope://127.0.0.1{HOOK}").notify("hello")  # httpx refuses the scheme, naming the URL
    messages = [record.getMessage() for record in caplog.records]
    assert len(messages) == 3
    assert "HTTP 404 no_service" in messages[0]
    assert all("Slack notification failed" in m and "SECRET" not in m for m in messages), messages
    assert "SECRET" not in repr(SlackNotifier(url))


def test_factory_from_the_environment() -> None:
    assert isinstance(notifier_from_env({}), NullNotifier)
    assert isinstance(notifier_from_env({"CHANGEGATE_SLACK_WEBHOOK_URL": "https://hooks.slack.com/services/a/b/c"}), SlackNotifier)
    with pytest.raises(SettingsError, match="CHANGEGATE_SLACK_WEBHOOK_URL") as raised:
        notifier_from_env({"CHANGEGATE_SLACK_WEBHOOK_URL": "hooks.slack.com/SECRET"})
    assert "SECRET" not in str(raised.value)
    NullNotifier().notify("nothing happens")
