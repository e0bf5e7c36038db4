"""Gemini Developer API: generate, stream, embed, batch embed and count tokens.

Paths are ``/{v1,v1beta,v1alpha}/models/{model}:{action}``; google-genai 3.x defaults to
``v1`` when given an API key. The wire is camelCase JSON. ``usageMetadata.promptTokenCount``
INCLUDES ``cachedContentTokenCount``; ``thoughtsTokenCount`` is OUTSIDE
``candidatesTokenCount``; ``totalTokenCount = prompt + candidates + thoughts`` (proto3 JSON:
zero counts other than the prompt's are omitted). ``streamGenerateContent?alt=sse`` sends
``data: {GenerateContentResponse}`` frames separated by CRLF; every chunk carries
``usageMetadata`` with the candidates count so far and the last chunk carries the complete
counts and ``finishReason``.
"""

from __future__ import annotations

import re
from typing import Any

from ._config import MAX_EMBEDDING_DIMS
from ._core import Context, optional_int
from ._errors import SimBadRequest
from ._tokens import chat_prompt_tokens, count, embedding, text_of
from ._types import SimRequest, SimResponse, json_response, sse_data, sse_response
from ._usage import UsagePlan, input_plan, plan_usage


def _pairs(request_body: dict[str, Any]) -> list[tuple[str, str]]:
    contents = request_body.get("contents")
    if isinstance(contents, dict):
        contents = [contents]
    if not isinstance(contents, list) or not contents:
        raise SimBadRequest("* GenerateContentRequest.contents: contents is not specified\n")
    pairs: list[tuple[str, str]] = []
    system = request_body.get("systemInstruction") or request_body.get("system_instruction")
    if system:
        pairs.append(("system", text_of(system)))
    for content in contents:
        if not isinstance(content, dict):
            raise SimBadRequest("* GenerateContentRequest.contents: each content must be an object\n")
        pairs.append((str(content.get("role") or "user"), text_of(content.get("parts"))))
    return pairs


def _plan(payload: dict[str, Any], ctx: Context, model: str) -> UsagePlan:
    config = payload.get("generationConfig") or payload.get("generation_config") or {}
    if not isinstance(config, dict):
        raise SimBadRequest("Invalid JSON payload: generationConfig must be an object.")
    cap = optional_int(config, "maxOutputTokens", "max_output_tokens")
    return plan_usage(ctx.config, model, chat_prompt_tokens(_pairs(payload), payload.get("tools")), cap)


def _details(tokens: int, audio: int = 0) -> list[dict[str, Any]]:
    details = [{"modality": "TEXT", "tokenCount": tokens - audio}]
    if audio:
        details.append({"modality": "AUDIO", "tokenCount": audio})
    return details


def usage_metadata(plan: UsagePlan, candidates: int) -> dict[str, Any]:
    usage: dict[str, Any] = {"promptTokenCount": plan.prompt}
    if candidates:
        usage["candidatesTokenCount"] = candidates
    usage["totalTokenCount"] = plan.prompt + candidates + plan.reasoning
    if plan.cached:
        usage["cachedContentTokenCount"] = plan.cached
    usage["promptTokensDetails"] = _details(plan.prompt, plan.audio)
    if plan.cached:
        usage["cacheTokensDetails"] = [{"modality": "TEXT", "tokenCount": plan.cached}]
    if plan.reasoning:
        usage["thoughtsTokenCount"] = plan.reasoning
    return usage


def _answer(
    plan: UsagePlan, response_id: str, text: str, candidates: int, finish: str | None
) -> dict[str, Any]:
    content: dict[str, Any] = {"parts": [{"text": text}], "role": "model"} if text else {"role": "model"}
    candidate: dict[str, Any] = {"content": content}
    if finish:
        candidate["finishReason"] = finish
    candidate["index"] = 0
    return {
        "candidates": [candidate],
        "usageMetadata": usage_metadata(plan, candidates),
        "modelVersion": plan.response_model,
        "responseId": response_id,
    }


def generate(request: SimRequest, payload: dict[str, Any], ctx: Context, match: re.Match[str]) -> SimResponse:
    plan = _plan(payload, ctx, match.group("model"))
    finish = "MAX_TOKENS" if plan.capped else "STOP"
    return json_response(200, _answer(plan, ctx.new_id("sim"), plan.text(), plan.visible, finish))


def stream_generate(
    request: SimRequest, payload: dict[str, Any], ctx: Context, match: re.Match[str]
) -> SimResponse:
    plan = _plan(payload, ctx, match.group("model"))
    finish = "MAX_TOKENS" if plan.capped else "STOP"
    response_id = ctx.new_id("sim")
    deltas = plan.deltas() or [""]
    chunks: list[dict[str, Any]] = []
    so_far = 0
    for i, delta in enumerate(deltas):
        so_far += count(delta)
        last = i == len(deltas) - 1
        chunks.append(
            _answer(plan, response_id, delta, plan.visible if last else so_far, finish if last else None)
        )
    if request.params.get("alt") == "sse":
        return sse_response([sse_data(c, crlf=True) for c in chunks])
    # Without alt=sse the real API streams one JSON array; send it whole.
    return json_response(200, chunks)


def _embed_text(content: object) -> str:
    if not isinstance(content, dict):
        raise SimBadRequest("* EmbedContentRequest.content: content is not specified\n")
    return text_of(content.get("parts"))


def _embedding_usage(tokens: int) -> dict[str, Any]:
    # Gemini API EmbeddingUsageMetadata: promptTokenCount + promptTokenDetails (sic, no "s").
    return {"promptTokenCount": tokens, "promptTokenDetails": _details(tokens)}


def _dims(body: dict[str, Any], ctx: Context) -> int:
    dims = optional_int(body, "outputDimensionality", "output_dimensionality", maximum=MAX_EMBEDDING_DIMS)
    return dims or ctx.config.embedding_dims


def embed(request: SimRequest, payload: dict[str, Any], ctx: Context, match: re.Match[str]) -> SimResponse:
    model = match.group("model")
    text = _embed_text(payload.get("content"))
    answer: dict[str, Any] = {"embedding": {"values": embedding(text, _dims(payload, ctx), model)}}
    if ctx.config.gemini_embedding_usage:
        answer["usageMetadata"] = _embedding_usage(input_plan(ctx.config, model, count(text)))
    return json_response(200, answer)


def batch_embed(
    request: SimRequest, payload: dict[str, Any], ctx: Context, match: re.Match[str]
) -> SimResponse:
    model = match.group("model")
    requests = payload.get("requests")
    if not isinstance(requests, list) or not requests:
        raise SimBadRequest("* BatchEmbedContentsRequest.requests: requests is not specified\n")
    embeddings, derived = [], 0
    for item in requests:
        if not isinstance(item, dict):
            raise SimBadRequest("* BatchEmbedContentsRequest.requests: each request must be an object\n")
        text = _embed_text(item.get("content"))
        derived += count(text)
        embeddings.append({"values": embedding(text, _dims(item, ctx), model)})
    answer: dict[str, Any] = {"embeddings": embeddings}
    if ctx.config.gemini_embedding_usage:
        answer["usageMetadata"] = _embedding_usage(input_plan(ctx.config, model, derived))
    return json_response(200, answer)


def count_tokens(
    request: SimRequest, payload: dict[str, Any], ctx: Context, match: re.Match[str]
) -> SimResponse:
    model = match.group("model")
    inner = payload.get("generateContentRequest")
    body = inner if isinstance(inner, dict) else payload
    tokens = input_plan(ctx.config, model, chat_prompt_tokens(_pairs(body), body.get("tools")))
    cached = ctx.config.rule_for(model).cached_tokens or 0
    answer: dict[str, Any] = {"totalTokens": tokens}
    if cached:
        answer["cachedContentTokenCount"] = cached
    answer["promptTokensDetails"] = _details(tokens)
    return json_response(200, answer)
