"""Tests for the benchmarks' own code (the peers' virtualenvs are never built here)."""
