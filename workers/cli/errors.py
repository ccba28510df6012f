"""How the `guichet` command reports a mistake: what is wrong and what is accepted, exit 2, never a traceback."""

from __future__ import annotations

import os

import click

DEBUG_ENV = "GUICHET_DEBUG"  # set to 1 to see the traceback of an unexpected error


class UserError(click.ClickException):
    """A mistake in what the user asked: the message says what is wrong and what to do; exit 2."""

    exit_code = 2


class UnexpectedError(click.ClickException):
    """Anything else: one line instead of a traceback (unless GUICHET_DEBUG=1); exit 1."""

    exit_code = 1


def translate(exc: Exception) -> click.ClickException:
    """The exception a command let through, as a message for the person at the terminal."""
    from ingest.config_files import ConfigError

    if isinstance(exc, ConfigError):
        return UserError(str(exc))
    if type(exc).__module__.startswith(("pydantic", "pydantic_core")):
        return UserError(f"a setting is invalid (environment or config/settings.toml): {exc}")
    if type(exc).__name__ in ("ArgumentError", "NoSuchModuleError"):  # sqlalchemy: bad URL
        return UserError(
            f"DATABASE_URL is not a database URL ({exc}); accepted: "
            "postgresql+psycopg://user:password@host/db, sqlite:///path/to/file.sqlite3, or unset"
        )
    if type(exc).__module__.startswith("sqlalchemy"):
        detail = str(getattr(exc, "orig", None) or exc).splitlines()[0]
        return UnexpectedError(
            f"database error: {detail}; check DATABASE_URL and that the database is reachable"
        )
    return UnexpectedError(
        f"unexpected error: {type(exc).__name__}: {exc} (set {DEBUG_ENV}=1 to see the traceback)"
    )


class GuichetGroup(click.Group):
    """The top-level group: every error a command lets through becomes a message, not a traceback."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except (click.exceptions.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except Exception as exc:
            if os.environ.get(DEBUG_ENV):
                raise
            raise translate(exc) from None
