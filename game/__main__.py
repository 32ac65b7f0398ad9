"""`python -m game` is the `memoire` command."""

import sys

from game.cli import main

sys.exit(main())
