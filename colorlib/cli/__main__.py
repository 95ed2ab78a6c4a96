"""``python -m colorlib.cli`` runs the command line, like the ``colorlib`` command."""

import sys

from colorlib.cli import main

sys.exit(main())
