"""``python -m neurosage ...``: the same as the ``neurosage`` command."""

import sys

from neurosage.cli import main

if __name__ == "__main__":  # importing this module (a walk over the package) runs nothing
    sys.exit(main())
