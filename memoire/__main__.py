"""`python -m memoire` is the `memoire` command."""

import sys

from memoire.cli import main

sys.exit(main())
