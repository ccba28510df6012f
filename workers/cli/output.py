"""Machine-readable output shared by the `--json` options of every command."""

from __future__ import annotations

import json
import sys


def print_json(value) -> None:
    """Pretty JSON on stdout; dates and other objects as their string form."""
    json.dump(value, sys.stdout, ensure_ascii=False, indent=2, default=str)
    sys.stdout.write("\n")
