"""Wrappers for the fake SDK, written the way provider modules are."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from otel_llmcost.instrumentation._call import LLMCall, Request
from otel_llmcost.instrumentation._streams import AsyncStreamProxy, SyncStreamProxy
from otel_llmcost.instrumentation._telemetry import Telemetry
from otel_llmcost.instrumentation._wrap import Wrapper, WrapSpec
from otel_llmcost.usage import Usage, from_openai

MODULE = "tests.instrumentation._fake_sdk"


class Handler:
    def __init__(self, hide_usage: bool = True) -> None:
        self.usage: Usage | None = None
        self.hide_usage = hide_usage
        self.text: list[str] = []

    def on_item(self, item: Any) -> bool:
        if "usage" in item:
            self.usage = from_openai(item["usage"])
            return self.hide_usage
        self.text.append(item["text"])
        return False

    def on_end(self, call: LLMCall, error: BaseException | None, complete: bool) -> None:
        if error is not None:
            call.fail(error)
        else:
            call.finish(self.usage)


def _request(kwargs: dict[str, Any]) -> Request:
    return Request(
        provider="openai",
        operation="chat",
        model=kwargs["model"],
        max_tokens=kwargs.get("max_tokens"),
        stream=bool(kwargs.get("stream")),
        server_address="api.example.test",
        server_port=443,
        prompt_texts=lambda: [kwargs["prompt"]],
        input_messages=lambda: [{"role": "user", "parts": [{"type": "text", "content": kwargs["prompt"]}]}],
        fingerprint_payload=lambda: kwargs["prompt"],
    )


def _on_result(call: LLMCall, result: Any) -> Any:
    if isinstance(result, dict):
        call.set_response(model=result["model"], response_id=result["id"], finish_reasons=[result["finish"]])
        call.finish(
            from_openai(result["usage"]),
            output_messages=lambda: [{"role": "assistant", "parts": [{"type": "text", "content": "ok"}]}],
        )
        return result
    if hasattr(result, "__aiter__"):
        return AsyncStreamProxy(result, call, Handler())
    return SyncStreamProxy(result, call, Handler())


def _create(telemetry: Telemetry) -> Wrapper:
    def traced(wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        return telemetry.traced(lambda: _request(kwargs), wrapped, args, kwargs, _on_result)

    return traced


def _acreate(telemetry: Telemetry) -> Wrapper:
    def traced(wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        return telemetry.traced_async(lambda: _request(kwargs), wrapped, args, kwargs, _on_result)

    return traced


def wrap_specs() -> Iterator[WrapSpec]:
    yield WrapSpec(MODULE, "Client.create", _create)
    yield WrapSpec(MODULE, "Client.create_nested", _create)
    yield WrapSpec(MODULE, "Client.acreate", _acreate)
