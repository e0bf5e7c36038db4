"""google-genai (3.x) instrumentation: one GenAI span per model request, with exact usage and cost.

Wrapped in ``google.genai.models`` (``Models`` and ``AsyncModels`` alike):

* ``_generate_content`` — one ``:generateContent`` request (``generate_content`` operation);
* ``_generate_content_stream`` — one ``:streamGenerateContent`` request;
* ``embed_content`` — one embeddings request (``embeddings`` operation).

Why the request-level ``_generate_content*`` methods rather than the public
``generate_content*``: the public methods are loops. With Python functions as tools, automatic
function calling (AFC) sends one request per round and runs the application's functions between
them; with automatic continuation a long answer takes several requests. A span on the public
method would price only the last round's usage, time the app's tools as model latency, and —
because a running call marks the context so nested SDK calls pass through — hide any model call
a tool makes. The request-level methods send exactly one request each and run no app code, so
each request gets one span with the usage the provider reported for it. Chats
(``client.chats.create(...).send_message[_stream]``) call the public methods and so reach these
too: one span per request. ``embed_content`` sends one request and runs no app code, so its
public method is the right layer.

Provider: ``gcp.vertex_ai`` when the module's API client is a Vertex client, else
``gcp.gemini``; ``server.address``/``port`` come from the API client's base URL (or the call's
``config.http_options.base_url``).

Nothing of the SDK is imported here: the wrap list names the module and the instrumentor hooks
it when the application imports it.
"""

from __future__ import annotations

from collections.abc import Iterator

from otel_llmcost.instrumentation._wrap import WrapSpec

__all__ = ["MODULE", "wrap_specs"]

MODULE = "google.genai.models"


def wrap_specs() -> Iterator[WrapSpec]:
    from otel_llmcost.instrumentation.google_genai import _embed, _generate

    yield WrapSpec(MODULE, "Models._generate_content", _generate.generate_content)
    yield WrapSpec(MODULE, "Models._generate_content_stream", _generate.generate_content_stream)
    yield WrapSpec(MODULE, "Models.embed_content", _embed.embed_content)
    yield WrapSpec(MODULE, "AsyncModels._generate_content", _generate.generate_content_async)
    yield WrapSpec(MODULE, "AsyncModels._generate_content_stream", _generate.generate_content_stream_async)
    yield WrapSpec(MODULE, "AsyncModels.embed_content", _embed.embed_content_async)
