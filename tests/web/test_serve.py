"""How `serve` and `worker` choose the processor, and what they refuse."""

from __future__ import annotations

from typing import Any

import pytest

from changegate import wiring
from changegate.cli import main
from changegate.cli.worker import ENV_TEST_PROCESSOR, load_processor
from changegate.web.ops import Metrics
from tests.web.recording import RecordingProcessor


def test_without_the_test_hook_the_real_gate_is_the_processor(monkeypatch: pytest.MonkeyPatch, sqlite_url: str) -> None:
    monkeypatch.delenv(ENV_TEST_PROCESSOR, raising=False)
    monkeypatch.setenv("CHANGEGATE_DATABASE_URL", sqlite_url)
    monkeypatch.setenv("GITHUB_TOKEN", "a-token")
    processor = load_processor(Metrics())
    assert isinstance(processor, wiring.MeteredGate)


def test_without_github_credentials_the_worker_says_which_variable(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], sqlite_url: str) -> None:
    for name in ("GITHUB_TOKEN", "CHANGEGATE_GITHUB_TOKEN", "CHANGEGATE_GITHUB_APP_ID", ENV_TEST_PROCESSOR):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CHANGEGATE_DATABASE_URL", sqlite_url)
    assert main(["worker"]) == 2
    assert "GITHUB_TOKEN" in capsys.readouterr().err


def test_wiring_build_processor_is_given_the_metrics_when_it_takes_them(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_TEST_PROCESSOR, raising=False)
    built: dict[str, Any] = {}
    recorder = RecordingProcessor()

    def build_processor(*, metrics: Any) -> RecordingProcessor:
        built["metrics"] = metrics
        return recorder

    monkeypatch.setattr(wiring, "build_processor", build_processor, raising=False)
    metrics = Metrics()
    assert load_processor(metrics) is recorder and built["metrics"] is metrics


def test_the_test_hook_loads_a_test_processor_class_or_instance(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_TEST_PROCESSOR, "tests.web.recording:RecordingProcessor")
    assert isinstance(load_processor(Metrics()), RecordingProcessor)


@pytest.mark.parametrize("hook", ["os:getcwd", "changegate.wiring:open_store", "tests.web.recording", "tests.web.nope:X"])
def test_the_test_hook_refuses_anything_but_a_test_module(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], sqlite_url: str, hook: str
) -> None:
    monkeypatch.setenv("CHANGEGATE_DATABASE_URL", sqlite_url)
    monkeypatch.setenv(ENV_TEST_PROCESSOR, hook)
    assert main(["worker"]) == 2
    assert ENV_TEST_PROCESSOR in capsys.readouterr().err


def test_serve_refuses_to_start_without_a_secret(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("CHANGEGATE_WEBHOOK_SECRET", raising=False)
    assert main(["serve", "--port", "0"]) == 2
    err = capsys.readouterr().err
    assert "CHANGEGATE_WEBHOOK_SECRET is not set" in err
