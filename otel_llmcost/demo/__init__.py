"""The demo: simulator + collector + an instrumented sample app, then the cost report."""
