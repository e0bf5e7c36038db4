"""``python -m otel_llmcost.cli``: the ``otel-llmcost`` command."""

from otel_llmcost.cli import main

main()
