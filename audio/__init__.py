"""Memoire audio: zone field, synth thread, neural decoder, output stream, terrain."""
