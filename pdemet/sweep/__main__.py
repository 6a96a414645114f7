"""``python -m pdemet.sweep ARGS`` is ``pdemet sweep ARGS``: the one parser is :mod:`pdemet.cli`'s."""

import sys

from pdemet.cli import main

sys.exit(main(["sweep", *sys.argv[1:]]))
