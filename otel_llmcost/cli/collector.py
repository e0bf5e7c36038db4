"""``otel-llmcost collector``: the OTLP sidecar in the foreground until SIGTERM or SIGINT."""

from __future__ import annotations

import gc
import signal
import sys
import threading
from types import FrameType

import click

from otel_llmcost.exceptions import ConfigError, LedgerUnavailableError

#: The first line on stdout once every port is bound; one ``key=value`` per address.
READY_PREFIX = "otel-llmcost collector ready"


#: Generation-0 threshold of the cyclic garbage collector in the collector process.
GC_THRESHOLD = 10_000


def _tune_gc() -> None:
    """Make CPython's cyclic garbage collector cheap for the collector's allocation pattern.

    What an export allocates (records, rows, protobuf wrappers) is freed by reference counting
    once it is committed, but at the default threshold (700 container allocations not yet
    freed) a generation-0 pass ran every ~200 spans, and passes over older generations walked
    the whole startup heap (the price catalog alone is tens of thousands of objects): 3-6 µs of
    a span's CPU in all. Everything loaded by now lives as long as the process, so it is
    frozen out of every pass, and young objects are examined ~15x less often. Cyclic garbage
    is still collected, a little later. Process-wide, so done here and not in ``Collector``,
    which other programs embed.
    """
    gc.freeze()
    gc.set_threshold(GC_THRESHOLD)


class _BadConfig(click.ClickException):
    exit_code = 2

    def __init__(self, err: ConfigError) -> None:
        super().__init__(f"invalid configuration: {err}")


@click.command()
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    help="YAML configuration (see collector/config.yaml). Default: $OTEL_LLMCOST_CONFIG, else built-in defaults.",
)
@click.option(
    "--otlp-grpc", metavar="HOST:PORT", help="OTLP/gRPC receiver address [default: 127.0.0.1:4317]."
)
@click.option(
    "--otlp-http", metavar="HOST:PORT", help="OTLP/HTTP receiver address [default: 127.0.0.1:4318]."
)
@click.option(
    "--listen", metavar="HOST:PORT", help="/metrics and HTTP API address [default: 127.0.0.1:9464]."
)
@click.option(
    "--ledger", metavar="URL", help="sqlite:///path or postgresql://… [default: ./.otel-llmcost/ledger.db]."
)
@click.option("--prices", metavar="FILE", help="Price override YAML (extra models, discounts, deployments).")
@click.option(
    "--budgets", metavar="FILE", help="Budget policy YAML: status gauges and /v1/budgets (docs/budgets.md)."
)
def collector(
    config_path: str | None,
    otlp_grpc: str | None,
    otlp_http: str | None,
    listen: str | None,
    ledger: str | None,
    prices: str | None,
    budgets: str | None,
) -> None:
    """Receive OTLP traces, price GenAI spans into the ledger and serve Prometheus metrics.

    Precedence: flags, then OTEL_LLMCOST_* variables, then the config file, then defaults. Port 0
    picks a free port; once everything is bound, one line is printed to stdout:

    \b
      otel-llmcost collector ready otlp_grpc=HOST:PORT otlp_http=HOST:PORT listen=HOST:PORT

    SIGTERM or SIGINT stops intake, commits what is in flight and exits 0 (1 if the shutdown had
    to be cut short). An unusable configuration exits 2, naming the file, key and reason.
    """
    try:
        from otel_llmcost.collector import Collector, load_config
        from otel_llmcost.ledger._url import redact
    except ImportError as err:
        raise click.ClickException(str(err)) from None

    flags = {
        "--otlp-grpc": otlp_grpc,
        "--otlp-http": otlp_http,
        "--listen": listen,
        "--ledger": ledger,
        "--prices": prices,
        "--budgets": budgets,
    }
    try:
        config = load_config(config_path, flags=flags)
        instance = Collector(config)
    except LedgerUnavailableError as err:  # a runtime failure (exit 1), not bad configuration
        raise click.ClickException(f"cannot start the collector: {err.reason}") from None
    except ConfigError as err:
        raise _BadConfig(err) from None
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, on_signal)
    try:
        instance.start()
    except OSError as err:
        raise click.ClickException(f"cannot start the collector: {err}") from None
    _tune_gc()
    addresses = " ".join(f"{name}={address}" for name, address in instance.addresses.items())
    click.echo(f"{READY_PREFIX} {addresses} ledger={redact(instance.ledger.url)}")
    sys.stdout.flush()
    while not stop.wait(3600):
        pass
    clean = instance.stop()
    sys.exit(0 if clean else 1)
