"""``python -m colorlib`` runs the command line."""

import sys

from colorlib.cli import main

sys.exit(main())
