"""Rebuild the `Content` of a stored request from its raw bytes, whatever edge it came through."""

from __future__ import annotations

from ingest.model import Content
from ingest.reading import mime


def content_from(
    channel: str, raw: bytes, *, sender: str = "", recipients=(), client_ip: str = ""
) -> Content:
    if channel == "webhook":
        from ingest.edges.webhook.mapping import content_from_json  # the webhook edge's own mapping

        return content_from_json(raw)
    return mime.parse(raw, envelope_sender=sender, recipients=list(recipients), client_ip=client_ip)
