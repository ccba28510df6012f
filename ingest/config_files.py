"""Read the policy and vocabulary data files kept in `config/` (TOML), once per process."""

from __future__ import annotations

import os
import tomllib
from functools import lru_cache
from pathlib import Path

from ingest.shipped_files import shipped

CONFIG_DIR_ENV = "GUICHET_CONFIG_DIR"
DEFAULT_CONFIG_DIR = shipped("config")


class ConfigError(RuntimeError):
    """A policy file is missing or unreadable; the message says which file and what to do."""


def config_dir() -> Path:
    """`GUICHET_CONFIG_DIR` when set, else the `config/` folder shipped with guichet."""
    return Path(os.environ.get(CONFIG_DIR_ENV) or DEFAULT_CONFIG_DIR)


@lru_cache(maxsize=32)
def _load(path: Path) -> dict:
    with path.open("rb") as fh:
        return tomllib.load(fh)


def load(name: str, directory: Path | None = None) -> dict:
    """Load `config/<name>.toml` (cached); a missing or broken file says which and why."""
    path = (directory or config_dir()) / f"{name}.toml"
    try:
        return _load(path)
    except FileNotFoundError:
        raise ConfigError(
            f"policy file {path} is missing; restore it from the project's config/"
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML ({exc}); fix the file and retry") from None
