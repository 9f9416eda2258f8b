"""Benchmarks for changegate (run as modules, e.g. `python -m bench.evaluation`)."""
