"""The demo: simulator + collector + an instrumented sample app, then the cost report."""

#: Where ``otel-llmcost demo`` puts its ledger and budget file by default (relative to the
#: working directory): apart from the collector's default ledger, ``.otel-llmcost/ledger.db``.
DEMO_DIR = ".otel-llmcost/demo"
