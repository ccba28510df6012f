"""The few lines `guichet run` prints once SMTP, HTTP and the workers are ready."""

from __future__ import annotations

import os

from sqlalchemy.engine import make_url

from ingest.settings import Settings


def banner(settings: Settings, *, web: bool, admins: int | None) -> str:
    home = settings.home.resolve()
    lines = [
        "guichet is ready",
        f"  SMTP              {settings.smtp_listen}   for {', '.join(settings.all_addresses)}",
    ]
    if web:
        base = f"http://{settings.http_listen}"
        lines.append(f"  HTTP              {base}   webhooks, /readyz")
        how = "" if admins else "   (no account yet: guichet admins add NAME)"
        lines.append(f"  admin console     {base}/admin/{how}")
    if settings.smtp_relay:
        lines.append(f"  acknowledgements  relayed through {settings.smtp_relay}")
    else:
        lines.append(
            f"  acknowledgements  written to {settings.outbox} (no relay: guichet outbox list)"
        )
    database = make_url(settings.database).render_as_string(hide_password=True)
    redis = "embedded" if settings.embedded_redis else "REDIS_URL"
    lines.append(f"  state             {home}   database {database}, Redis {redis}")
    lines.append(f"  stop              Ctrl-C, or kill -TERM {os.getpid()}")
    return "\n".join(lines)
