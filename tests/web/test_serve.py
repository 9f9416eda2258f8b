"""How `serve` and `worker` choose the processor, and what they refuse."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from changegate import wiring
from changegate.cli import main
from changegate.cli.worker import ENV_TEST_PROCESSOR, LoggingProcessor, load_processor
from changegate.web.ops import Metrics
from tests.web.recording import RecordingProcessor


def test_without_wiring_build_processor_a_logging_processor_is_used_and_said(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.delenv(ENV_TEST_PROCESSOR, raising=False)
    monkeypatch.delattr(wiring, "build_processor", raising=False)
    caplog.set_level(logging.INFO)
    processor = load_processor(Metrics())
    assert isinstance(processor, LoggingProcessor)
    assert "build_processor does not exist yet" in caplog.text
    asyncio.run(processor.process("push", None, {}, "d-1"))
    assert "no processor is wired" in caplog.text


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
    monkeypatch.setattr(wiring, "build_processor", lambda: recorder, raising=False)
    assert load_processor(metrics) is recorder


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
