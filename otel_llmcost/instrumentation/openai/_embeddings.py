"""``embeddings.create`` (operation ``embeddings``), sync and async."""

from __future__ import annotations

from typing import Any

from otel_llmcost import semconv as sc
from otel_llmcost.instrumentation._call import LLMCall, Request
from otel_llmcost.instrumentation._streams import StreamHandler
from otel_llmcost.instrumentation._telemetry import Telemetry
from otel_llmcost.instrumentation._tokens import count_tokens
from otel_llmcost.instrumentation.openai._common import Plan, endpoint_of, get, plain_prompt, str_arg
from otel_llmcost.usage import Usage, from_openai

__all__ = ["EmbeddingsReader", "plan_embeddings"]


class EmbeddingsReader:
    def __init__(self, prompt: tuple[list[str], int] | None) -> None:
        self._prompt = prompt

    def estimate(self, call: LLMCall) -> Usage:
        if self._prompt is None:
            return Usage(estimated=True)
        texts, ids = self._prompt
        return Usage(input=sum(count_tokens(t, call.model) for t in texts) + ids, estimated=True)

    def finish(self, call: LLMCall, body: Any) -> None:
        call.set_response(model=get(body, "model"))
        usage = get(body, "usage")
        call.finish(from_openai(usage) if usage is not None else self.estimate(call))

    def stream_handler(self, call: LLMCall, injected: bool) -> StreamHandler:
        raise TypeError("embeddings are never streamed")

    def finish_unread(self, call: LLMCall) -> None:
        call.finish(self.estimate(call))


def plan_embeddings(
    telemetry: Telemetry, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Plan:
    endpoint = endpoint_of(instance, telemetry)
    prompt = plain_prompt(kwargs.get("input"))
    request = Request(
        provider=endpoint.provider,
        operation=sc.OP_EMBEDDINGS,
        model=str_arg(kwargs, "model"),
        server_address=endpoint.host,
        server_port=endpoint.port,
        prompt_texts=(lambda: prompt[0]) if prompt is not None else None,
    )
    return Plan(request, EmbeddingsReader(prompt))
