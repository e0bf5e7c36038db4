"""``python -m otel_llmcost.simulator``: run the provider simulator in the foreground."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from ._config import SimConfig
from ._simulator import serve


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m otel_llmcost.simulator",
        description=(
            "Serve a loopback provider speaking the OpenAI, Anthropic and Gemini wire formats "
            "with exact, configurable token usage. Stops on SIGINT or SIGTERM."
        ),
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default: %(default)s)")
    parser.add_argument(
        "--port", type=int, default=8765, help="port to bind, 0 for a free one (default: %(default)s)"
    )
    parser.add_argument(
        "--config",
        metavar="PATH",
        help="YAML or JSON file: reply_tokens, latency_s, chunk_delay_s, rules: [{model: GLOB, prompt_tokens: N, ...}]",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if not 0 <= args.port <= 65535:
        print(f"error: --port must be between 0 and 65535, got {args.port}", file=sys.stderr)
        return 2
    try:
        config = SimConfig.from_file(args.config) if args.config else SimConfig()
    except ValueError as exc:
        print(f"error: bad --config: {exc}", file=sys.stderr)
        return 2
    try:
        serve(args.host, args.port, config)
    except OSError as exc:
        print(f"error: cannot serve on {args.host}:{args.port}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
