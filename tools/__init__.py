"""Memoire tools: corpus generator, benchmarks."""
