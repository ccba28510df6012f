"""Where each effective setting and data file comes from, for `guichet config show`."""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

from pydantic import SecretStr

from ingest.config_files import CONFIG_DIR_ENV, config_dir
from ingest.settings import Settings
from ingest.shipped_files import origin

DATA_FILES = ("settings.toml", "policy.toml", "vocabulary.toml", "mailbox_providers.toml")
TEMPLATES_DIR_ENV = "GUICHET_TEMPLATES_DIR"  # read by workers.acks.render
SECRET_HINTS = ("password", "secret", "token", "key")


@dataclass(frozen=True)
class Origin:
    name: str  # the setting's key in settings.toml
    value: str  # shown value; secrets and credentials in URLs are masked
    source: str  # "environment VARIABLE", "settings.toml" or "default"


def folder_origin(path: Path, variable: str) -> str:
    return f"environment {variable}" if os.environ.get(variable) else origin(path)


def data_files() -> list[tuple[str, Path, bool]]:
    """(name, path, present) of each policy and settings file in use."""
    folder = config_dir()
    return [(name, folder / name, (folder / name).is_file()) for name in DATA_FILES]


def setting_origins(settings: Settings) -> list[Origin]:
    """Each setting with its effective value and where that value was taken from."""
    toml = _toml(config_dir() / "settings.toml")
    found = []
    for name, field in Settings.model_fields.items():
        variables = [c for c in field.validation_alias.choices if c != name]
        variable = next((v for v in variables if v in os.environ), None)
        if variable:
            source = f"environment {variable}"
        elif name in toml:
            source = "settings.toml"
        else:
            source = "default"
        found.append(Origin(name, _shown(name, getattr(settings, name)), source))
    return found


# Read outside the settings: the data folders, the partner-secret key, tracebacks for the CLI.
OTHER_VARIABLES = frozenset(
    {CONFIG_DIR_ENV, TEMPLATES_DIR_ENV, "GUICHET_SECRET_KEY", "GUICHET_DEBUG"}
)


def known_variables() -> set[str]:
    """Every environment variable guichet reads (compose files are checked against it)."""
    return {
        choice
        for name, field in Settings.model_fields.items()
        for choice in field.validation_alias.choices
        if choice != name
    } | OTHER_VARIABLES


def _toml(path: Path) -> dict:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except (OSError, tomllib.TOMLDecodeError):
        return {}


def _shown(name: str, value) -> str:
    if value is None:
        return "(unset)"
    if isinstance(value, SecretStr) or any(h in name for h in SECRET_HINTS):
        return "(set, hidden)"
    text = str(value)
    if "://" in text and "@" in text:  # a URL with credentials: keep the host, hide the login
        scheme, _, rest = text.partition("://")
        return f"{scheme}://***@{rest.rpartition('@')[2]}"
    return text


__all__ = ["CONFIG_DIR_ENV", "Origin", "data_files", "known_variables", "setting_origins"]
