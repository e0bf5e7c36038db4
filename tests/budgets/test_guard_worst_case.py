"""The worst case the guard reserves, through the real SDKs on the simulator: tool definitions
count as prompt, embeddings reserve no output, and a refusal says when the call alone is too big."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import anthropic
import openai
import pytest
from google import genai
from google.genai import types

from otel_llmcost import attribute
from otel_llmcost.exceptions import BudgetExceededError
from otel_llmcost.pricing import Pricer
from otel_llmcost.simulator import Simulator
from tests.budgets._recording import guarded, recording_guard, store_of
from tests.conftest import Otel

#: A 1,500-word tool description: about 3,500 prompt tokens that no message shows.
DESCRIPTION = " ".join(f"word{i}" for i in range(1500))
SCHEMA = {"type": "object", "properties": {"q": {"type": "string"}}}
HI = [{"role": "user", "content": "hi"}]


def hard_cap(usd: str) -> dict[str, object]:
    return {"budgets": [{"name": "hard-cap", "window": "total", "limit_usd": usd, "action": "block"}]}


@pytest.fixture
def sim() -> Iterator[Simulator]:
    with Simulator() as simulator:
        yield simulator


def claude(sim: Simulator) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=sim.anthropic_base_url, api_key="test", max_retries=0)


def gpt(sim: Simulator) -> openai.OpenAI:
    return openai.OpenAI(base_url=sim.openai_base_url, api_key="test", max_retries=0)


@pytest.fixture
def gem(sim: Simulator) -> Iterator[genai.Client]:
    client = genai.Client(api_key="test", http_options=types.HttpOptions(base_url=sim.url))
    yield client
    client.close()


def claude_call(sim: Simulator) -> anthropic.types.Message:
    tools = [{"name": "lookup", "description": DESCRIPTION, "input_schema": SCHEMA}]
    return claude(sim).messages.create(model="claude-sonnet-4-6", max_tokens=10, tools=tools, messages=HI)


def test_anthropic_tools_alone_over_a_usd_limit_are_refused(
    otel: Otel, pricer: Pricer, sim: Simulator
) -> None:
    # Sent, the call would bill 3,535 input tokens: $0.010755 with its 10 output tokens.
    guard = recording_guard(pricer, hard_cap("0.01"))
    with guarded(otel, pricer, guard), pytest.raises(BudgetExceededError) as err:
        claude_call(sim)
    assert sim.requests == []
    # (8 for "hi" + 4 framing + 3,525 tool JSON + 346 tool-use system prompt) x 1.1 + 8 = 4,280
    # prompt tokens at $3/M, + 10 x $15/M = $0.01299.
    assert str(err.value) == (
        "budget 'hard-cap' (all calls) would be exceeded: $0 of $0.01 spent or reserved, and this call"
        " alone may cost $0.01299: 4,280 prompt tokens (estimated) + 10 output tokens (the request's"
        " max_tokens)"
    )


def test_anthropic_tools_settle_under_the_block_limit(otel: Otel, pricer: Pricer, sim: Simulator) -> None:
    guard = recording_guard(pricer, hard_cap("0.02"))
    with guarded(otel, pricer, guard):
        first = claude_call(sim)
        with pytest.raises(BudgetExceededError):
            claude_call(sim)  # $0.010755 spent + $0.01299 reserved > $0.02
    assert first.usage.input_tokens == 3535
    assert store_of(guard).reserved[0].tokens == 4280 + 10
    assert len(sim.requests) == 1
    (state,) = guard.store.state(["hard-cap:total"])
    assert (state.spent_usd_nanos, state.reserved_usd_nanos) == (10_755_000, 0)


def test_gemini_tool_declarations_are_reserved(
    otel: Otel, pricer: Pricer, sim: Simulator, gem: genai.Client
) -> None:
    tool = types.Tool(
        function_declarations=[
            types.FunctionDeclaration(name="lookup", description=DESCRIPTION, parameters=SCHEMA)
        ]
    )
    config = types.GenerateContentConfig(
        tools=[tool],
        max_output_tokens=10,
        automatic_function_calling=types.AutomaticFunctionCallingConfig(disable=True),
    )
    guard = recording_guard(pricer, hard_cap("0.01"))
    billed = []
    with guarded(otel, pricer, guard):
        for _ in range(2):
            response = gem.models.generate_content(model="gemini-2.5-pro", contents="hi", config=config)
            assert response.usage_metadata is not None
            billed.append(response.usage_metadata.prompt_token_count)
        with pytest.raises(BudgetExceededError):  # $0.009045 spent + $0.00498 reserved > $0.01
            gem.models.generate_content(model="gemini-2.5-pro", contents="hi", config=config)
    assert billed == [3538, 3538]
    assert [c.tokens for c in store_of(guard).reserved] == [3904 + 10] * 3
    (state,) = guard.store.state(["hard-cap:total"])
    # 3,538 x $1.25/M + 10 x $10/M = $0.0045225 a call; the limit is never passed.
    assert state.spent_usd_nanos == 9_045_000


def test_openai_chat_tools_functions_and_choices_are_reserved(
    otel: Otel, pricer: Pricer, sim: Simulator
) -> None:
    function = {"name": "lookup", "description": DESCRIPTION, "parameters": SCHEMA}
    guard = recording_guard(pricer)
    with guarded(otel, pricer, guard):
        llm = gpt(sim)
        tools = [{"type": "function", "function": function}]
        answer = llm.chat.completions.create(model="gpt-4o", max_tokens=10, tools=tools, messages=HI)
        llm.chat.completions.create(
            model="gpt-4o", max_tokens=10, tools=tools, tool_choice="required", messages=HI
        )
        llm.chat.completions.create(
            model="gpt-4o", max_tokens=10, functions=[function], function_call={"name": "lookup"}, messages=HI
        )
        llm.chat.completions.create(model="gpt-4o", max_tokens=10, messages=HI)
    assert answer.usage is not None and answer.usage.prompt_tokens == 3540
    # Exact tokenizer, no margin: 8 for "hi" + 4 framing + 3,530 tool JSON; "required" adds
    # 4 + 3; the bare function is 3,523 tokens of JSON (+ 4), its function_call 4 + 5.
    assert [c.tokens - 10 for c in store_of(guard).reserved] == [3542, 3549, 3544, 8]


def test_openai_responses_tools_are_reserved(otel: Otel, pricer: Pricer, sim: Simulator) -> None:
    tool = {"type": "function", "name": "lookup", "description": DESCRIPTION, "parameters": SCHEMA}
    guard = recording_guard(pricer)
    with guarded(otel, pricer, guard):
        response = gpt(sim).responses.create(model="gpt-4o", max_output_tokens=10, tools=[tool], input="hi")
    assert response.usage is not None and response.usage.input_tokens == 3538
    assert store_of(guard).last.tokens == 3540 + 10


EMBED_TOKENS = {
    "budgets": [{"name": "embed-tokens", "window": "daily", "limit_tokens": 2000, "action": "block"}]
}


def test_a_token_budget_admits_embeddings(
    otel: Otel, pricer: Pricer, sim: Simulator, gem: genai.Client
) -> None:
    guard = recording_guard(pricer, EMBED_TOKENS)
    with guarded(otel, pricer, guard):
        gem.models.embed_content(model="gemini-embedding-001", contents="hello world")
        gpt(sim).embeddings.create(model="text-embedding-3-small", input="hello world")
    assert len(sim.requests) == 2
    # Prompt only, no output reserved: Gemini (3 + 4 + 2) x 1.1 + 8 = 18; OpenAI exact 3 + 4 + 2.
    assert [c.tokens for c in store_of(guard).reserved] == [18, 9]


def test_async_embeddings_reserve_no_output(
    otel: Otel, pricer: Pricer, sim: Simulator, gem: genai.Client
) -> None:
    async def run() -> None:
        await gem.aio.models.embed_content(model="gemini-embedding-001", contents="hello world")
        async with openai.AsyncOpenAI(base_url=sim.openai_base_url, api_key="test", max_retries=0) as llm:
            await llm.embeddings.create(model="text-embedding-3-small", input="hello world")

    guard = recording_guard(pricer, EMBED_TOKENS)
    with guarded(otel, pricer, guard):
        asyncio.run(run())
    assert [c.tokens for c in store_of(guard).reserved] == [18, 9]


PER_RUN = {
    "budgets": [
        {"name": "per-run", "per": "run", "window": "total", "limit_tokens": 50000, "action": "block"}
    ]
}


def test_refusal_names_the_calls_own_worst_case(
    otel: Otel, pricer: Pricer, sim: Simulator, gem: genai.Client
) -> None:
    guard = recording_guard(pricer, PER_RUN)
    with guarded(otel, pricer, guard), attribute(run="run-1"):
        with pytest.raises(BudgetExceededError) as err:
            gem.models.generate_content(model="gemini-2.5-flash", contents="hi")
        assert sim.requests == []
        config = types.GenerateContentConfig(max_output_tokens=1000)
        gem.models.generate_content(model="gemini-2.5-flash", contents="hi", config=config)
    assert str(err.value) == (
        "budget 'per-run' (run=run-1) would be exceeded: 0 of 50,000 tokens used or reserved, and this"
        " call alone may use 65,553 tokens: 17 prompt (estimated) + 65,536 output (gemini-2.5-flash's"
        " output cap, reserved because the request sets no max_tokens / max_output_tokens; setting it"
        " lowers the reservation)"
    )
    assert (err.value.spent_tokens, err.value.limit_tokens) == (0, 50000)
    assert len(sim.requests) == 1


def test_refusal_with_a_default_output_cap(otel: Otel, pricer: Pricer, sim: Simulator) -> None:
    policy = {"budgets": [{"name": "t", "window": "total", "limit_tokens": 1000, "action": "block"}]}
    with guarded(otel, pricer, recording_guard(pricer, policy)), pytest.raises(BudgetExceededError) as err:
        gpt(sim).chat.completions.create(model="house-model-7", messages=HI)
    assert str(err.value) == (
        "budget 't' (all calls) would be exceeded: 0 of 1,000 tokens used or reserved, and this call alone"
        " may use 4,104 tokens: 8 prompt (estimated) + 4,096 output (a default output cap, reserved"
        " because the request sets no max_tokens / max_output_tokens; setting it lowers the reservation)"
    )


def test_a_used_up_budget_keeps_its_message(otel: Otel, pricer: Pricer, sim: Simulator) -> None:
    # Each call may use 8 + 40 tokens and uses 8 + 20: the second would pass 70 only with the first.
    policy = {"budgets": [{"name": "t", "window": "total", "limit_tokens": 70, "action": "block"}]}
    with guarded(otel, pricer, recording_guard(pricer, policy)):
        gpt(sim).chat.completions.create(model="gpt-4o-mini", messages=HI, max_tokens=40)
        with pytest.raises(BudgetExceededError) as err:
            gpt(sim).chat.completions.create(model="gpt-4o-mini", messages=HI, max_tokens=40)
    assert str(err.value) == "budget 't' (all calls) would be exceeded: 28 of 70 tokens used or reserved"
    assert err.value.reason is None


def test_legacy_token_id_prompts_are_reserved(otel: Otel, pricer: Pricer, sim: Simulator) -> None:
    guard = recording_guard(pricer)
    with guarded(otel, pricer, guard):
        llm = gpt(sim)
        llm.completions.create(model="gpt-3.5-turbo-instruct", prompt=[15339] * 500, max_tokens=10)
        llm.completions.create(model="gpt-3.5-turbo-instruct", prompt="hello world", max_tokens=10)
    # 500 token ids: 3 + 4 + 500 (they were 3 + 0 before); a text prompt: 3 + 4 + 2.
    assert [c.tokens - 10 for c in store_of(guard).reserved] == [507, 9]
