"""Memoire: the game, its world and its command line."""
