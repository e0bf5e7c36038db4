"""The demo's sample application: ordinary SDK code, no otel-llmcost calls except attribution.

Run under ``opentelemetry-instrument`` by ``otel-llmcost demo``: every call below becomes a priced
GenAI span without a line of instrumentation code. ``SIM_URL`` points the SDKs at the simulator.
"""

from __future__ import annotations

import asyncio
import os
import sys
from typing import Any

import anthropic
import openai
from google import genai
from google.genai import types

import otel_llmcost

SIM = os.environ["SIM_URL"]
# Typed as the SDKs' message params accept: the same plain dict serves both.
QUESTION: Any = [{"role": "user", "content": "Which of our books suit a reader who loved Hyperion?"}]


def openai_work(client: openai.OpenAI) -> None:
    with otel_llmcost.attribute(team="search", user="u-ana", feature="recommend"):
        for _ in range(3):  # a long, cached system prompt: most input tokens are cache reads
            client.chat.completions.create(model="gpt-4o-mini", messages=QUESTION, max_tokens=600)
        for _ in client.chat.completions.create(model="gpt-4o", messages=QUESTION, stream=True):
            pass  # streamed: include_usage is injected so the cost is exact
        client.embeddings.create(
            model="text-embedding-3-small", input=["Hyperion", "Dune", "Ancillary Justice"]
        )
    with otel_llmcost.attribute(team="research", user="u-cho", feature="analysis"):
        client.chat.completions.create(model="o3", messages=QUESTION)  # reasoning tokens
        client.responses.create(model="gpt-4.1-mini", input="Summarize our Q3 sales notes.")
        try:
            client.chat.completions.create(model="gpt-4o", messages=[])  # an app bug: a 400
        except openai.BadRequestError:
            pass
        # A model missing from the catalog: flagged unpriced, never silently $0.
        client.chat.completions.create(model="acme-internal-llm", messages=QUESTION)


def anthropic_work(client: anthropic.Anthropic) -> None:
    with otel_llmcost.attribute(team="support", user="u-ben", feature="triage"):
        for _ in range(2):  # prompt caching: 5-minute cache writes, then reads
            client.messages.create(model="claude-sonnet-4-5", max_tokens=800, messages=QUESTION)
        with client.messages.stream(model="claude-haiku-4-5", max_tokens=300, messages=QUESTION) as stream:
            stream.get_final_message()


async def gemini_work(client: genai.Client) -> None:
    with otel_llmcost.attribute(team="research", user="u-cho", feature="long-reads"):
        await client.aio.models.generate_content(model="gemini-2.5-pro", contents="Compare these 300 pages.")
        async for _ in await client.aio.models.generate_content_stream(
            model="gemini-2.5-flash", contents="Hi"
        ):
            pass
        await client.aio.models.embed_content(model="gemini-embedding-001", contents=["Dune", "Hyperion"])


def main() -> int:
    openai_work(openai.OpenAI(base_url=f"{SIM}/v1", api_key="sk-demo", max_retries=0))
    anthropic_work(anthropic.Anthropic(base_url=SIM, api_key="sk-ant-demo", max_retries=0))
    asyncio.run(gemini_work(genai.Client(api_key="demo", http_options=types.HttpOptions(base_url=SIM))))
    print("demo app: done", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
