"""``python -m memoire.audio.probe MODEL OUT.npz``: read a model's card with torch, write it as .npz.

Run by memoire/audio/card.py ``read_card`` so that the game process never imports torch. Exit
status 0: OUT written; 2: a UserError, its message on stdout; anything else: a crash (stderr).
"""

from __future__ import annotations

import sys
from pathlib import Path


def main(argv: list[str]) -> int:
    from memoire.audio.card import card_to_npz, probe_user_error_status
    from memoire.world.errors import UserError

    if len(argv) != 2:
        print("usage: python -m memoire.audio.probe MODEL OUT.npz", file=sys.stderr)
        return 64
    try:
        from memoire.audio.model import inspect_model

        card = inspect_model(argv[0])
    except UserError as e:
        print(str(e))
        return probe_user_error_status
    card_to_npz(card, Path(argv[1]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
