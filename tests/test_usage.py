"""Usage normalization: each provider convention and each emitter, exact buckets."""

from __future__ import annotations

import pytest

from otel_llmcost import semconv as sc
from otel_llmcost.exceptions import InvalidUsageError
from otel_llmcost.usage import (
    MAX_TOKENS_PER_CALL,
    Usage,
    from_anthropic,
    from_attributes,
    from_gemini,
    from_openai,
)


class TestUsage:
    def test_totals_are_inclusive(self) -> None:
        u = Usage(input=176, cache_read=1024, cache_write_5m=10, cache_write_1h=5, output=20, reasoning=30)
        assert u.total_input == 1215
        assert u.total_output == 50
        assert u.cache_write == 15
        assert u.total == 1265

    def test_from_totals_carves_out_parts(self) -> None:
        u = Usage.from_totals(1200, 50, cache_read=1024, reasoning=30)
        assert u == Usage(input=176, cache_read=1024, output=20, reasoning=30)

    @pytest.mark.parametrize(
        ("kwargs", "reason"),
        [
            ({"input": -1}, "negative_tokens"),
            ({"output": MAX_TOKENS_PER_CALL + 1}, "absurd_tokens"),
            ({"input": 1.5}, "not_integer"),
            ({"cache_read": True}, "not_integer"),
        ],
    )
    def test_rejects_impossible_counts(self, kwargs: dict[str, object], reason: str) -> None:
        with pytest.raises(InvalidUsageError) as err:
            Usage(**kwargs)  # type: ignore[arg-type]
        assert err.value.reason == reason

    def test_from_totals_rejects_parts_larger_than_total(self) -> None:
        with pytest.raises(InvalidUsageError) as err:
            Usage.from_totals(100, 10, cache_read=101)
        assert err.value.reason == "inconsistent_tokens"

    def test_add(self) -> None:
        a = Usage(input=1, output=2, estimated=True)
        b = Usage(input=10, cache_read=5, output=20)
        assert a + b == Usage(input=11, cache_read=5, output=22, estimated=True)

    def test_to_attributes_types_and_names(self) -> None:
        attrs = Usage(
            input=176, cache_read=1024, cache_write_5m=7, cache_write_1h=3, output=20, reasoning=30
        ).to_attributes()
        assert attrs == {
            "gen_ai.usage.input_tokens": 1210,
            "gen_ai.usage.output_tokens": 50,
            "gen_ai.usage.cache_read.input_tokens": 1024,
            "gen_ai.usage.cache_write.input_tokens": 10,
            "llmcost.usage.cache_write_1h.input_tokens": 3,
            "gen_ai.usage.reasoning.output_tokens": 30,
        }
        assert all(type(v) is int for v in attrs.values())


class TestOpenAI:
    def test_chat_usage_cached_and_reasoning_are_inside_totals(self) -> None:
        usage = {
            "prompt_tokens": 1200,
            "completion_tokens": 50,
            "total_tokens": 1250,
            "prompt_tokens_details": {"cached_tokens": 1024, "audio_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": 30, "audio_tokens": 0},
        }
        assert from_openai(usage) == Usage(input=176, cache_read=1024, output=20, reasoning=30)

    def test_responses_api_names(self) -> None:
        usage = {
            "input_tokens": 900,
            "input_tokens_details": {"cached_tokens": 512},
            "output_tokens": 300,
            "output_tokens_details": {"reasoning_tokens": 256},
            "total_tokens": 1200,
        }
        assert from_openai(usage) == Usage(input=388, cache_read=512, output=44, reasoning=256)

    def test_cache_writes_are_inside_the_prompt_and_split_by_retention(self) -> None:
        usage = {
            "input_tokens": 5000,
            "input_tokens_details": {
                "cached_tokens": 1000,
                "cache_write_tokens": 3000,
                "cache_write_tokens_details": {"ttl_30m_tokens": 2000, "ttl_12h_tokens": 1000},
            },
            "output_tokens": 10,
            "output_tokens_details": {"reasoning_tokens": 0},
        }
        assert from_openai(usage) == Usage(
            input=1000, cache_read=1000, cache_write_5m=2000, cache_write_1h=1000, output=10
        )
        chat = {
            "prompt_tokens": 100,
            "completion_tokens": 1,
            "prompt_tokens_details": {"cache_write_tokens": 60},
        }
        assert from_openai(chat) == Usage(input=40, cache_write_5m=60, output=1)

    def test_embeddings_have_only_prompt_tokens(self) -> None:
        assert from_openai({"prompt_tokens": 8, "total_tokens": 8}) == Usage(input=8)

    def test_audio_tokens_are_their_own_bucket(self) -> None:
        usage = {
            "prompt_tokens": 500,
            "completion_tokens": 400,
            "prompt_tokens_details": {"audio_tokens": 300, "cached_tokens": 0},
            "completion_tokens_details": {"audio_tokens": 350, "reasoning_tokens": 0},
        }
        assert from_openai(usage) == Usage(input=200, input_audio=300, output=50, output_audio=350)

    def test_reads_sdk_objects(self) -> None:
        from openai.types.completion_usage import (
            CompletionTokensDetails,
            CompletionUsage,
            PromptTokensDetails,
        )

        usage = CompletionUsage(
            prompt_tokens=1200,
            completion_tokens=50,
            total_tokens=1250,
            prompt_tokens_details=PromptTokensDetails(cached_tokens=1024),
            completion_tokens_details=CompletionTokensDetails(reasoning_tokens=30),
        )
        assert from_openai(usage) == Usage(input=176, cache_read=1024, output=20, reasoning=30)

    def test_cached_larger_than_prompt_is_rejected(self) -> None:
        with pytest.raises(InvalidUsageError):
            from_openai(
                {"prompt_tokens": 10, "completion_tokens": 1, "prompt_tokens_details": {"cached_tokens": 11}}
            )


class TestAnthropic:
    def test_input_excludes_cache_and_writes_split_by_ttl(self) -> None:
        usage = {
            "input_tokens": 176,
            "cache_read_input_tokens": 1024,
            "cache_creation_input_tokens": 800,
            "cache_creation": {"ephemeral_5m_input_tokens": 500, "ephemeral_1h_input_tokens": 300},
            "output_tokens": 50,
        }
        assert from_anthropic(usage) == Usage(
            input=176, cache_read=1024, cache_write_5m=500, cache_write_1h=300, output=50
        )

    def test_writes_without_ttl_split_are_5_minute(self) -> None:
        usage = {"input_tokens": 10, "cache_creation_input_tokens": 800, "output_tokens": 5}
        assert from_anthropic(usage) == Usage(input=10, cache_write_5m=800, output=5)

    def test_web_search_requests_and_thinking(self) -> None:
        usage = {
            "input_tokens": 10,
            "output_tokens": 500,
            "output_tokens_details": {"thinking_tokens": 400},
            "server_tool_use": {"web_search_requests": 3},
        }
        assert from_anthropic(usage) == Usage(input=10, output=100, reasoning=400, web_search_requests=3)

    def test_compaction_iterations_are_billed_on_top(self) -> None:
        usage = {
            "input_tokens": 100,
            "output_tokens": 20,
            "iterations": [
                {"type": "message", "input_tokens": 100, "output_tokens": 20},
                {
                    "type": "compaction",
                    "input_tokens": 5000,
                    "cache_read_input_tokens": 1000,
                    "output_tokens": 300,
                },
            ],
        }
        assert from_anthropic(usage) == Usage(input=5100, cache_read=1000, output=320)

    def test_reads_sdk_objects(self) -> None:
        from anthropic.types import Usage as AnthropicUsage

        usage = AnthropicUsage(
            input_tokens=176, output_tokens=50, cache_read_input_tokens=1024, cache_creation_input_tokens=0
        )
        assert from_anthropic(usage) == Usage(input=176, cache_read=1024, output=50)


class TestGemini:
    def test_cached_inside_prompt_thoughts_outside_candidates(self) -> None:
        meta = {
            "promptTokenCount": 1200,
            "cachedContentTokenCount": 1024,
            "candidatesTokenCount": 20,
            "thoughtsTokenCount": 30,
            "totalTokenCount": 1250,
        }
        assert from_gemini(meta) == Usage(input=176, cache_read=1024, output=20, reasoning=30)

    def test_sdk_object_snake_case_and_tool_use_prompt(self) -> None:
        from google.genai import types

        meta = types.GenerateContentResponseUsageMetadata(
            prompt_token_count=100,
            candidates_token_count=10,
            tool_use_prompt_token_count=40,
            prompt_tokens_details=[
                types.ModalityTokenCount(modality=types.MediaModality.AUDIO, token_count=60),
                types.ModalityTokenCount(modality=types.MediaModality.TEXT, token_count=40),
            ],
        )
        assert from_gemini(meta) == Usage(input=80, input_audio=60, output=10)


class TestAttributes:
    def test_latest_semconv(self) -> None:
        attrs = {
            sc.GEN_AI_USAGE_INPUT_TOKENS: 1200,
            sc.GEN_AI_USAGE_OUTPUT_TOKENS: 50,
            sc.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS: 1024,
            sc.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS: 30,
        }
        assert from_attributes(attrs) == Usage(input=176, cache_read=1024, output=20, reasoning=30)

    def test_old_cache_creation_name(self) -> None:
        attrs = {
            "gen_ai.usage.input_tokens": 1000,
            "gen_ai.usage.output_tokens": 5,
            "gen_ai.usage.cache_creation.input_tokens": 800,
        }
        assert from_attributes(attrs) == Usage(input=200, cache_write_5m=800, output=5)

    def test_anthropic_sdk_span_input_includes_cache(self) -> None:
        # What anthropic 2.x's own span carries for input 176 + read 1024 + writes 500/300.
        attrs = {
            "gen_ai.provider.name": "anthropic",
            "gen_ai.usage.input_tokens": 2000,
            "gen_ai.usage.output_tokens": 50,
            "gen_ai.usage.cache_read.input_tokens": 1024,
            "gen_ai.usage.cache_write.input_tokens": 800,
            "anthropic.usage.cache_creation.ephemeral_5m_input_tokens": 500,
            "anthropic.usage.cache_creation.ephemeral_1h_input_tokens": 300,
        }
        usage = from_attributes(attrs, provider="anthropic", scope_name=sc.ANTHROPIC_SDK_SCOPE)
        assert usage == Usage(input=176, cache_read=1024, cache_write_5m=500, cache_write_1h=300, output=50)

    def test_openllmetry_legacy_names(self) -> None:
        attrs = {
            "gen_ai.usage.prompt_tokens": 1200,
            "gen_ai.usage.completion_tokens": 50,
            "gen_ai.usage.cache_read_input_tokens": 1024,
            "llm.usage.total_tokens": 1250,
        }
        assert from_attributes(attrs) == Usage(input=176, cache_read=1024, output=50)

    def test_llm_usage_names(self) -> None:
        attrs = {"llm.usage.prompt_tokens": 7, "llm.usage.completion_tokens": 3}
        assert from_attributes(attrs) == Usage(input=7, output=3)

    def test_openinference(self) -> None:
        attrs = {
            "llm.token_count.prompt": 1200,
            "llm.token_count.completion": 50,
            "llm.token_count.prompt_details.cache_read": 1000,
            "llm.token_count.prompt_details.cache_write": 100,
            "llm.token_count.completion_details.reasoning": 40,
        }
        assert from_attributes(attrs) == Usage(
            input=100, cache_read=1000, cache_write_5m=100, output=10, reasoning=40
        )

    def test_openlit_anthropic_input_is_exclusive(self) -> None:
        attrs = {
            "gen_ai.usage.input_tokens": 176,
            "gen_ai.usage.output_tokens": 50,
            "gen_ai.usage.cache_read.input_tokens": 100,
            "gen_ai.usage.cache_creation.input_tokens": 50,
            "gen_ai.usage.cost": 0.01,
        }
        usage = from_attributes(attrs, provider="anthropic", scope_name="openlit.otel.tracing")
        assert usage == Usage(input=176, cache_read=100, cache_write_5m=50, output=50)

    def test_exclusive_input_detected_when_parts_exceed_total(self) -> None:
        attrs = {
            "gen_ai.usage.input_tokens": 176,
            "gen_ai.usage.output_tokens": 1,
            "gen_ai.usage.cache_read.input_tokens": 1024,
        }
        assert from_attributes(attrs) == Usage(input=176, cache_read=1024, output=1)

    def test_no_usage_is_none(self) -> None:
        assert from_attributes({"gen_ai.request.model": "gpt-4o"}) is None

    @pytest.mark.parametrize(
        ("value", "reason"),
        [(-5, "negative_tokens"), ("12x", "not_integer"), (1.5, "not_integer"), (10**12, "absurd_tokens")],
    )
    def test_bad_values(self, value: object, reason: str) -> None:
        with pytest.raises(InvalidUsageError) as err:
            from_attributes({"gen_ai.usage.input_tokens": value, "gen_ai.usage.output_tokens": 1})
        assert err.value.reason == reason

    def test_numeric_strings_and_integral_floats_are_accepted(self) -> None:
        assert from_attributes(
            {"gen_ai.usage.input_tokens": "12", "gen_ai.usage.output_tokens": 3.0}
        ) == Usage(input=12, output=3)
