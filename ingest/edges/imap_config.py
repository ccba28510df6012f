"""One mailbox `guichet fetch` reads: server, TLS, login, folders — typed, checked when read."""

from __future__ import annotations

import shlex
import subprocess
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})
TOKEN_COMMAND_TIMEOUT = 30  # seconds an `oauth2_token_command` may take


class CredentialError(Exception):
    """The password or token of a mailbox cannot be read (file missing, command failed)."""


def _same_folder(a: str, b: str) -> bool:
    """INBOX is case-insensitive (RFC 3501 §5.1); other names are compared as written."""
    return a.upper() == b.upper() if "INBOX" in (a.upper(), b.upper()) else a == b


class Mailbox(BaseModel):
    """A `[[mailboxes]]` table of config/settings.toml (or one object of GUICHET_MAILBOXES)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
    host: str = Field(min_length=1, max_length=253)
    port: int | None = Field(None, ge=1, le=65535)
    tls: Literal["implicit", "starttls", "none"] = "implicit"
    ca_file: Path | None = None
    username: str = Field(min_length=1, max_length=320)
    auth: Literal["password", "xoauth2"] = "password"
    password: SecretStr | None = None
    password_file: Path | None = None
    oauth2_token_file: Path | None = None
    oauth2_token_command: str | None = None
    folder: str = "INBOX"
    processed_folder: str | None = "guichet/processed"
    rejected_folder: str | None = "guichet/rejected"
    address: str | None = None
    idle: bool = True
    poll_interval: float = Field(60.0, gt=0)
    timeout: float = Field(60.0, gt=0)

    @model_validator(mode="after")
    def _consistent(self) -> Mailbox:
        if self.tls == "none" and self.host.lower() not in LOOPBACK:
            raise ValueError(
                f"mailbox {self.name!r}: tls = 'none' would send the login in clear to "
                f"{self.host}; use 'implicit' (port 993) or 'starttls' (port 143)"
            )
        sources = {
            "password": [self.password, self.password_file],
            "xoauth2": [self.oauth2_token_file, self.oauth2_token_command],
        }[self.auth]
        for target in (self.processed_folder, self.rejected_folder):
            if target and _same_folder(target, self.folder):
                raise ValueError(
                    f"mailbox {self.name!r}: {target!r} is the folder being read; "
                    "moving mail into it would read it again forever"
                )
        if sum(s is not None for s in sources) != 1:
            names = {
                "password": "password or password_file",
                "xoauth2": "oauth2_token_file or oauth2_token_command",
            }
            raise ValueError(f"mailbox {self.name!r}: set exactly one of {names[self.auth]}")
        return self

    @property
    def server_port(self) -> int:
        return self.port or (993 if self.tls == "implicit" else 143)

    @property
    def source(self) -> str:
        """What intakes from this mailbox record as their source."""
        return f"imap:{self.name}"

    @property
    def progress_key(self) -> str:
        """Where UID progress is kept: a different server, account or folder starts afresh."""
        return f"{self.name}|{self.username}@{self.host}:{self.server_port}/{self.folder}"

    def secret(self) -> str:
        """The password or the OAuth2 access token, read now (files and commands may rotate it)."""
        if self.password is not None:
            return self.password.get_secret_value()
        path = self.password_file or self.oauth2_token_file
        if path is not None:
            try:
                return path.read_text().strip()
            except OSError as exc:
                raise CredentialError(f"mailbox {self.name!r}: cannot read {path}: {exc}") from exc
        return self._token_from_command()

    def _token_from_command(self) -> str:
        try:
            done = subprocess.run(  # noqa: S603 - the operator's own configured command
                shlex.split(self.oauth2_token_command or ""),
                capture_output=True,
                timeout=TOKEN_COMMAND_TIMEOUT,
                check=True,
                text=True,
            )
        except (OSError, subprocess.SubprocessError) as exc:
            raise CredentialError(f"mailbox {self.name!r}: oauth2_token_command: {exc}") from exc
        token = done.stdout.strip()
        if not token:
            raise CredentialError(f"mailbox {self.name!r}: oauth2_token_command printed no token")
        return token
