"""An app that emits numbered GenAI spans through a REAL OTLP exporter and BatchSpanProcessor,
recording which exports the collector acknowledged.

    python exporter_worker.py {grpc|http} ENDPOINT SPANS RATE ACKED_FILE

Every acknowledged export appends its spans' ``trace_id span_id`` to ACKED_FILE before a
``{"acked": n}`` progress line goes to stdout; the last line is a summary. The exporter's own
retry (on UNAVAILABLE, refused connections, 503) is what carries spans across a collector
restart: nothing here retries.
"""

from __future__ import annotations

import json
import logging
import sys
import threading
import time
from collections.abc import Sequence
from typing import Any

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.trace import SpanKind


class Retries(logging.Handler):
    """Counts the exporters' "Transient error … retrying" warnings."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        if "retrying" in record.getMessage():
            self.count += 1


def recording(base: type[SpanExporter], acked_file: str) -> Any:
    class Recording(base):  # type: ignore[misc,valid-type]
        lock = threading.Lock()
        acked = failed = 0

        def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
            result = super().export(spans)
            with self.lock:
                if result is SpanExportResult.SUCCESS:
                    with open(acked_file, "a", encoding="ascii") as out:
                        out.writelines(f"{s.context.trace_id:032x} {s.context.span_id:016x}\n" for s in spans)
                    Recording.acked += len(spans)
                    print(json.dumps({"acked": Recording.acked}), flush=True)
                else:
                    Recording.failed += len(spans)
            return result

    return Recording


def main(protocol: str, endpoint: str, spans: int, rate: float, acked_file: str) -> None:
    retries = Retries()
    logging.getLogger("opentelemetry.exporter.otlp").addHandler(retries)
    if protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as Grpc

        exporter = recording(Grpc, acked_file)(endpoint=endpoint, insecure=True, timeout=30)
    else:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as Http

        exporter = recording(Http, acked_file)(endpoint=endpoint, timeout=30)
    provider = TracerProvider(resource=Resource.create({"service.name": "sigkill-app"}))
    # A queue that holds every span: a span dropped here was never sent, which is not the point.
    provider.add_span_processor(
        BatchSpanProcessor(
            exporter, max_queue_size=spans, max_export_batch_size=200, schedule_delay_millis=20
        )
    )
    tracer = provider.get_tracer("reliability")
    started = time.monotonic()
    for i in range(spans):
        span = tracer.start_span("chat gpt-4o-mini", kind=SpanKind.CLIENT, attributes={
            "gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai",
            "gen_ai.request.model": "gpt-4o-mini", "gen_ai.response.id": f"chatcmpl-{i}",
            "gen_ai.usage.input_tokens": 100 + i % 7, "gen_ai.usage.output_tokens": 20,
        })  # fmt: skip
        span.end()
        if i % 50 == 49:  # pacing to RATE spans per second, not waiting for anything
            time.sleep(max(0.0, started + (i + 1) / rate - time.monotonic()))
    provider.shutdown()  # flushes the queue through the exporter's retries
    summary = {"done": True, "sent": spans, "acked": exporter.acked, "failed": exporter.failed}
    print(json.dumps({**summary, "retries": retries.count}), flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), sys.argv[5])
