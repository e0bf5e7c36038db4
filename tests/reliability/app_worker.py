"""An app instrumented by LLMCostInstrumentor whose spans go to a REAL OTLP exporter, timing
each SDK call against the simulator.

    python app_worker.py {none|grpc|http} ENDPOINT CALLS EXPORT_TIMEOUT_S

``none`` has no exporter at all (the baseline). Prints one JSON line with every call's duration
(seconds) once the calls are done, then returns from ``main`` without shutting anything down:
exiting is left to the SDK's own exit hook, as in a real app.
"""

from __future__ import annotations

import json
import sys
import time

import openai
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter

from otel_llmcost.instrumentation import LLMCostInstrumentor
from otel_llmcost.pricing import Pricer
from otel_llmcost.simulator import Simulator, UsageRule

WARM_UP = 20


def exporter(protocol: str, endpoint: str, timeout: float) -> SpanExporter:
    if protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as Grpc

        return Grpc(endpoint=endpoint, insecure=True, timeout=timeout)
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as Http

    return Http(endpoint=endpoint, timeout=timeout)


def main(protocol: str, endpoint: str, calls: int, timeout: float) -> None:
    provider = TracerProvider(resource=Resource.create({"service.name": "unreachable-app"}))
    if protocol != "none":
        provider.add_span_processor(BatchSpanProcessor(exporter(protocol, endpoint, timeout)))
    LLMCostInstrumentor().instrument(tracer_provider=provider, pricer=Pricer(), guard=None)
    simulator = Simulator().start()
    simulator.set_rule("*", UsageRule(prompt_tokens=50, completion_tokens=20))
    client = openai.OpenAI(base_url=simulator.openai_base_url, api_key="k", max_retries=0)
    latencies = []
    for i in range(WARM_UP + calls):
        started = time.perf_counter()
        client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
        if i >= WARM_UP:
            latencies.append(time.perf_counter() - started)
    simulator.stop()
    print(json.dumps({"latencies": latencies}), flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4]))
