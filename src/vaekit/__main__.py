"""`python -m vaekit`: the `vaekit` command."""

import sys

from vaekit.cli.main import main

if __name__ == "__main__":
    sys.exit(main())
