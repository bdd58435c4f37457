"""Benchmarks (not tests): `python -m bench NAME [--quick] [--json OUT]` prints a table and writes JSON."""
