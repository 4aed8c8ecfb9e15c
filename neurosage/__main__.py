"""``python -m neurosage ...``: the same as the ``neurosage`` command."""

import sys

from neurosage.cli import main

sys.exit(main())
