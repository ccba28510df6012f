"""Where the default `config/` and `templates/` are: inside the installed package (the wheel
carries them as `ingest/_shipped/`), else at the top of the source checkout."""

from __future__ import annotations

from pathlib import Path

PACKAGED = Path(__file__).resolve().parent / "_shipped"
CHECKOUT = Path(__file__).resolve().parent.parent


def shipped(name: str) -> Path:
    """The shipped folder `name` ("config" or "templates") of this installation."""
    packaged = PACKAGED / name
    return packaged if packaged.is_dir() else CHECKOUT / name


def origin(path: Path) -> str:
    """Where a shipped folder comes from, in words, for `guichet config show`."""
    if path.is_relative_to(PACKAGED):
        return "shipped in the installed package"
    return "the source checkout"
