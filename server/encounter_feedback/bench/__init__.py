"""Benchmarks (`encounter bench ...`): figures are measured and reported, never asserted in tests."""
