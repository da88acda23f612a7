"""Benchmark scenarios behind ``tandem bench`` (measured and reported, never asserted)."""
