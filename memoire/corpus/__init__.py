"""The procedural hutong sound corpus: physical recipes rendered to FLAC for model training.

Modules: ``dsp`` (signal building blocks), ``recipes`` (one recipe per sound class),
``voice`` (the committed espeak-ng Mandarin clips), ``generate`` (levels, seeds, files,
manifest), ``measure`` (checks of each class against its recipe), ``command`` (the
``memoire corpus`` subcommand). Run-time dependencies: numpy, scipy, soundfile (tqdm for the
progress bar, matplotlib only for the spectrogram plots).
"""
