"""``otel-llmcost simulator``: the OpenAI / Anthropic / Gemini wire simulator in the foreground."""

from __future__ import annotations

import click


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8765,
    show_default=True,
    help="Port to bind; 0 picks a free one.",
)
@click.option(
    "--config",
    "config_path",
    type=click.Path(exists=True, dir_okay=False),
    help="YAML/JSON: reply_tokens, latency_s, chunk_delay_s, rules: [{model: GLOB, prompt_tokens: N, ...}].",
)
def simulator(host: str, port: int, config_path: str | None) -> None:
    """Serve a loopback provider speaking the OpenAI, Anthropic and Gemini wire formats.

    Point an SDK at it (OpenAI: base_url=URL/v1, Anthropic: base_url=URL, Gemini:
    http_options.base_url=URL). Usage is deterministic and configurable; stops on SIGINT/SIGTERM.
    """
    from otel_llmcost.simulator import SimConfig, serve

    try:
        config = SimConfig.from_file(config_path) if config_path else SimConfig()
    except ValueError as err:
        raise click.UsageError(f"bad --config {config_path}: {err}") from None
    try:
        serve(host, port, config)
    except OSError as err:
        raise click.ClickException(f"cannot serve on {host}:{port}: {err.strerror or err}") from None
