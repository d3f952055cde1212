"""Benchmark code behind bench/run.py (see bench/README.md)."""
