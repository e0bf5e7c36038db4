"""What the instrumentor instruments. Any one of these suffices (``instruments-any``): an app that
uses only the Anthropic SDK, or only raw httpx calls, is still instrumented by
``opentelemetry-instrument``."""

from __future__ import annotations

_instruments_any = (
    "openai >= 3",
    "anthropic >= 2",
    "google-genai >= 3",
    "httpx2 >= 2",
    "httpx >= 0.27",
)
_instruments: tuple[str, ...] = ()
