"""Memoire's RAVE-style neural synth: PQMF multiband autoencoder with a streaming decoder.

Modules: pqmf (filter bank), layers (cached causal convolutions), model (encoder, decoder,
configuration), losses (spectral distances), data (corpus loading), train (loop and
checkpoints), export (TorchScript with the nn~ interface), evaluate (figures for
docs/model.md), train_command / encode_command (the `memoire train` / `memoire encode` CLI).
"""
