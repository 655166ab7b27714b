"""``python -m pytest_mailflow``: the ``mailflow`` command (see docs/cli.md)."""

from __future__ import annotations

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
