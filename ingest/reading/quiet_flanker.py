"""flanker, imported with its parser generator quiet: ply's grammar report is no news for an operator."""

from __future__ import annotations

import logging

# When the parse tables in flanker's package do not match the installed ply (typically the
# first run after an install), flanker rebuilds its address parsers with ply and hands ply
# this logger, which then reports ~28 "Symbol 'domain' is unreachable" warnings: facts about
# flanker's grammar, true and harmless. Real parse errors are raised, not logged, so only
# errors are kept from these loggers.
logging.getLogger("flanker.addresslib._parser").setLevel(logging.ERROR)

from flanker import mime  # noqa: E402
from flanker.addresslib import address  # noqa: E402

__all__ = ["address", "mime"]
