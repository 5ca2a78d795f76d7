"""Benchmark harness for hero-api: servers, seeding, wrk load and the comparison table."""
