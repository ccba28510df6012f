"""An authenticated IMAP session on one mailbox's folder, and where its messages are set aside."""

from __future__ import annotations

import logging
import ssl
from dataclasses import dataclass

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientAbortError, IMAPClientError

from ingest.edges.imap_config import CredentialError, Mailbox

log = logging.getLogger("guichet.fetch")

# What a lost connection, a refusing server or an unreadable credential raises: reconnect later.
SESSION_ERRORS = (IMAPClientError, OSError, ssl.SSLError, CredentialError)
TAKEN = b"$GuichetTaken"  # keywords used when a message cannot be moved
REJECTED = b"$GuichetRejected"


@dataclass(frozen=True)
class Folder:
    """The selected folder: its UIDVALIDITY and where taken and rejected messages go."""

    uidvalidity: int
    keywords: bool  # the server lets us set our own keywords
    processed: str | None  # None: flag instead of moving
    rejected: str | None


def open_session(box: Mailbox) -> IMAPClient:
    """Connect (implicit TLS, STARTTLS or, on loopback only, clear), then log in."""
    context = ssl.create_default_context(cafile=str(box.ca_file) if box.ca_file else None)
    client = IMAPClient(
        box.host,
        box.server_port,
        ssl=box.tls == "implicit",
        ssl_context=context,
        timeout=box.timeout,
    )
    client.normalise_times = False  # INTERNALDATE stays an aware datetime
    try:
        if box.tls == "starttls":
            client.starttls(context)  # never falls back to clear: no STARTTLS is an error
        if box.auth == "xoauth2":
            client.oauth2_login(box.username, box.secret())
        else:
            client.login(box.username, box.secret())
    except BaseException:
        close(client)
        raise
    return client


def select(client: IMAPClient, box: Mailbox) -> Folder:
    """Select the folder to read; prepare the folders messages are moved to (when MOVE is offered)."""
    can_move = client.has_capability("MOVE")
    processed = _target(client, box.processed_folder) if can_move else None
    rejected = _target(client, box.rejected_folder) if can_move else None
    info = client.select_folder(box.folder)
    permanent = info.get(b"PERMANENTFLAGS", ())
    return Folder(int(info[b"UIDVALIDITY"]), b"\\*" in permanent, processed, rejected)


def _target(client: IMAPClient, name: str | None) -> str | None:
    """The server's name for `name` (written with "/"), created when missing; None if impossible."""
    if not name:
        return None
    resolved = server_name(client, name)
    try:
        if not client.folder_exists(resolved):
            client.create_folder(resolved)
            log.info("created IMAP folder", extra={"folder": resolved})
    except IMAPClientAbortError:
        raise
    except IMAPClientError as exc:
        if client.folder_exists(resolved):  # created meanwhile by another fetcher of this account
            return resolved
        log.warning(
            "IMAP folder unavailable; flagging instead",
            extra={"folder": resolved, "error": str(exc)},
        )
        return None
    return resolved


def server_name(client: IMAPClient, name: str) -> str:
    """ "guichet/processed" in the server's hierarchy, under its personal namespace if it has one."""
    prefix, delimiter = "", "/"
    if client.has_capability("NAMESPACE"):
        personal = client.namespace().personal or ()
        if personal:
            prefix, delimiter = personal[0][0] or "", personal[0][1] or "/"
    else:
        listed = client.list_folders("", "")
        if listed and listed[0][1]:
            delimiter = listed[0][1].decode() if isinstance(listed[0][1], bytes) else listed[0][1]
    path = name.replace("/", delimiter)
    if prefix and not path.upper().startswith(prefix.upper()):
        path = prefix + path
    return path


def set_aside(client: IMAPClient, folder: Folder, uid: int, rejected: bool) -> str:
    """Move a message that is durably taken in; flag it when it cannot be moved. Says which."""
    target = folder.rejected if rejected else folder.processed
    if target is not None:
        try:
            client.move([uid], target)
            return "moved"
        except IMAPClientAbortError:
            raise  # the connection is gone: reconnect, the message is still in place
        except IMAPClientError as exc:  # refused (quota, folder deleted meanwhile)
            log.warning(
                "IMAP MOVE refused; flagging instead", extra={"uid": uid, "error": str(exc)}
            )
    client.add_flags([uid], _flags(folder.keywords, rejected), silent=True)
    return "flagged"


def _flags(keywords: bool, rejected: bool) -> list[bytes]:
    human = b"\\Flagged" if rejected else b"\\Seen"  # rejected mail draws a person's eye
    return [REJECTED if rejected else TAKEN, human] if keywords else [human]


def search_new(client: IMAPClient, folder: Folder, after_uid: int) -> list[int]:
    """UIDs above `after_uid`, oldest first (flagged-as-taken ones left out when flagging)."""
    criteria: list = ["UID", f"{after_uid + 1}:*"]
    if folder.keywords and (folder.processed is None or folder.rejected is None):
        criteria += ["UNKEYWORD", TAKEN, "UNKEYWORD", REJECTED]
    return sorted(uid for uid in client.search(criteria) if uid > after_uid)


def close(client: IMAPClient) -> None:
    """Log out politely when the connection still works; drop it otherwise."""
    try:
        client.logout()
    except Exception:  # noqa: BLE001 - the connection may already be gone
        try:
            client.shutdown()
        except Exception:  # noqa: BLE001
            log.debug("IMAP connection already closed")
