"""SMTP edge throughput: guichet's listener side by side with bare aiosmtpd baselines.

What is measured: N generated customer mails (3-8 KB; plain, multipart/alternative, and
with an attachment) are sent over C concurrent loopback SMTP connections, one message at a
time per connection (MAIL, RCPT, DATA).  For each target we report messages/s over the
whole run, the latency of the DATA command (from DATA to the final reply, so it includes
the message transfer and whatever the server does before answering) at p50/p95/p99, and
the number of replies that were not 250.

Targets, each served by its own child process (the client stays in this process):

  baseline   bare aiosmtpd, the handler answers 250 at once (the floor: SMTP itself)
  parse      bare aiosmtpd parsing with the standard library (policy=default, get_body)
             inside the handler, on the event loop (DESIGN.md's ~300 mails/s reference)
  sqlite     guichet's real listener (workers.running.edges.serve_smtp): parser processes,
             SqlJournal on SQLite (WAL, synchronous=FULL) in a temp dir, Redis broker on a
             temporary redis-server (appendfsync always); workers NOT running, so this is
             accept + analyse + durable commit + enqueue
  postgres   the same with a throw-away PostgreSQL database (skipped when unreachable)

With --rounds R the targets run R times, interleaved (baseline, parse, sqlite, postgres,
baseline, ...), and the best round of each target is reported: load from other processes
only ever slows a run down.  The load average before and after is printed with the table.

Usage: .venv/bin/python bench/smtp_throughput.py [--messages 2000] [--concurrency 8]
       [--rounds 1] [--only baseline,parse,sqlite,postgres] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import signal
import smtplib
import statistics
import sys
import time
from email.message import EmailMessage
from pathlib import Path

import common  # same folder; also puts the repository on sys.path, for tests.support

TARGETS = ("baseline", "parse", "sqlite", "postgres")
RECIPIENT = "support@dri.example"
SENDERS = [  # declared contacts of config/directory-demo.csv, and strangers
    ("Jean-François Hervé", "jf.herve@armor-logistique.fr", "20481"),
    ("Sophie Kerbrat", "s.kerbrat@armor-logistique.fr", "20481"),
    ("Yann Le Goff", "yann@legoff-boulangerie.fr", "10234"),
    ("Maëlle Le Goff", "maelle@legoff-boulangerie.fr", "10234"),
    ("Paul Martin", "paul.martin@gmail.com", "31337"),
]
OPENINGS = [
    "Notre serveur srv-web{n:02d} ne répond plus depuis ce matin, c'est bloquant.",
    "Le site https://www.exemple{n}.fr affiche une erreur 502 par intermittence.",
    "Nous ne recevons plus de mails sur le domaine exemple{n}.fr depuis hier soir.",
    "La base MySQL de production est très lente, pas urgent mais gênant.",
    "Our dedicated server db{n:02d} is unreachable over SSH, this is urgent.",
    "Pourriez-vous modifier la zone DNS de exemple{n}.fr (enregistrement MX) ?",
]
FILLER = (
    "Nous avons déjà redémarré le service et vérifié la configuration réseau côté client "
    "(liaison fibre Orange, routeur redémarré), sans amélioration. Les journaux montrent des "
    "délais d'attente répétés vers la passerelle. Merci de nous tenir informés de l'avancement."
)


# -- messages --------------------------------------------------------------------------


def sized_mail(
    sender: tuple[str, str, str],
    opening: str,
    subject: str,
    message_id: str,
    size: int,
    *,
    html: bool = False,
    attachments: tuple[tuple[bytes | str, str], ...] = (),
) -> bytes:
    """A customer mail of about `size` bytes: quoted filler lines pad the text, and the size
    grows linearly with them, so two builds measure the slope and a third hits the target."""
    name, address, number = sender

    def build(fillers: int) -> bytes:
        lines = ["Bonjour,", "", opening, f"Client {number}.", ""]
        lines += [FILLER] + ["> " + FILLER] * (fillers - 1) if fillers else []
        lines += ["", "Cordialement,", name, "Tél. 02 98 00 00 00"]
        msg = EmailMessage()
        msg["From"] = f"{name} <{address}>"
        msg["To"] = RECIPIENT
        msg["Subject"] = subject
        msg["Message-ID"] = message_id
        msg["Date"] = "Thu, 26 Nov 2026 10:00:00 +0100"
        msg.set_content("\n".join(lines) + "\n")
        if html:
            markup = "".join(f"<p>{line}</p>" for line in lines if line)
            msg.add_alternative(f"<html><body>{markup}</body></html>", subtype="html")
        for content, filename in attachments:
            if isinstance(content, bytes):
                msg.add_attachment(
                    content, maintype="application", subtype="pdf", filename=filename
                )
            else:
                msg.add_attachment(content, filename=filename)
        return msg.as_bytes()

    small, larger = len(build(0)), len(build(4))
    return build(max(0, round((size - small) / ((larger - small) / 4))))


def make_message(i: int, rng: random.Random) -> tuple[str, bytes]:
    """One realistic customer mail of 3-8 KB; kind cycles plain / alternative / attachment."""
    sender = rng.choice(SENDERS)
    kind = ("plain", "alternative", "attachment")[i % 3]
    opening = rng.choice(OPENINGS).format(n=rng.randint(1, 99))
    attachment = rng.randbytes(rng.randint(600, 1500)) if kind == "attachment" else b""
    address = sender[1]
    raw = sized_mail(
        sender,
        opening,
        f"Incident {i} : {opening[:40]}",
        f"<bench-{i}@{address.split('@')[1]}>",
        rng.randint(3200, 7800),
        html=kind == "alternative",
        attachments=((attachment, "log.pdf"),) if kind == "attachment" else (),
    )
    return address, raw


def make_messages(count: int, seed: int = 42) -> list[tuple[str, bytes]]:
    rng = random.Random(seed)
    return [make_message(i, rng) for i in range(count)]


# -- servers (child processes) ---------------------------------------------------------


class AcceptHandler:
    async def handle_DATA(self, server, session, envelope) -> str:
        return "250 2.0.0 Ok"


class ParseHandler:
    async def handle_DATA(self, server, session, envelope) -> str:
        from email import message_from_bytes, policy

        msg = message_from_bytes(envelope.original_content, policy=policy.default)
        body = msg.get_body(("plain", "html"))
        if body is not None:
            body.get_content()
        return "250 2.0.0 Ok"


async def serve_bare(handler, port: int) -> None:
    from aiosmtpd.smtp import SMTP

    loop = asyncio.get_running_loop()
    stopping = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stopping.set)

    def factory() -> SMTP:  # the same options as ingest.edges.smtp.smtp_factory
        return SMTP(handler, hostname="bench", enable_SMTPUTF8=True, decode_data=False)

    server = await loop.create_server(factory, host="127.0.0.1", port=port)
    await stopping.wait()
    server.close()
    await server.wait_closed()


def serve(args: argparse.Namespace) -> None:
    """Child process entry: run one target until SIGTERM."""
    if args.serve == "baseline":
        asyncio.run(serve_bare(AcceptHandler(), args.port))
    elif args.serve == "parse":
        asyncio.run(serve_bare(ParseHandler(), args.port))
    else:
        from ingest.settings import Settings
        from workers.running import logs
        from workers.running.edges import serve_smtp

        settings = Settings(
            home=Path(args.home),
            database_url=args.database_url,
            redis_url=args.redis_url,
            smtp_listen=f"127.0.0.1:{args.port}",
            log_format="json",
        )
        logs.setup("json", role="smtp")  # as `guichet smtp`; stderr goes to a file
        asyncio.run(serve_smtp(settings))


class Server(common.Server):
    """A target in a child process; for guichet, with its own Redis and database."""

    script = __file__

    def ready(self) -> bool:
        try:
            with smtplib.SMTP("127.0.0.1", self.port, timeout=2) as smtp:
                smtp.noop()
            return True
        except OSError:
            return False


# -- client ----------------------------------------------------------------------------


async def drive(
    port: int, messages: list[tuple[str, bytes]], concurrency: int, deadline: float, progress
) -> dict:
    """Send every message over `concurrency` connections; stop at `deadline` (monotonic)."""
    import aiosmtplib

    pending = iter(messages)
    outcome: dict = {"latencies": [], "codes": {}, "errors": []}
    latencies, codes, errors = outcome["latencies"], outcome["codes"], outcome["errors"]

    async def connection() -> None:
        smtp = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, timeout=60, start_tls=False)
        await smtp.connect()
        try:
            for sender, raw in pending:
                if time.monotonic() > deadline:
                    errors.append("deadline reached")
                    return
                try:
                    await smtp.mail(sender)
                    await smtp.rcpt(RECIPIENT)
                    started = time.perf_counter()
                    try:
                        reply = await smtp.data(raw)
                        code = reply.code
                    except aiosmtplib.SMTPResponseException as exc:
                        code = exc.code
                        await smtp.rset()
                    latencies.append(time.perf_counter() - started)
                    codes[code] = codes.get(code, 0) + 1
                except aiosmtplib.SMTPResponseException as exc:  # MAIL or RCPT refused
                    codes[exc.code] = codes.get(exc.code, 0) + 1
                    await smtp.rset()
                progress(1)
        finally:
            if smtp.is_connected:
                await smtp.quit()

    return await common.run_connections(connection, concurrency, outcome)


def run_target(target: str, args: argparse.Namespace, messages, warmup, label: str) -> dict:
    outcome = common.measure(Server, target, "guichet-bench-", drive, messages, warmup, args, label)
    return common.summarise(target, outcome, args.concurrency, "messages", "msgs_per_s", 250)


def print_table(rows: list[dict]) -> None:
    header = ("target", "msgs", "msgs/s", "p50 ms", "p95 ms", "p99 ms", "cpu ms", "non-250")
    print(common.table_line(header[0], header[1:]))
    for r in rows:
        if "skipped" in r:
            print(f"{r['target']:<10}  skipped: {r['skipped']}")
            continue
        cells = (r["messages"], r["msgs_per_s"], r["p50_ms"], r["p95_ms"], r["p99_ms"], r["cpu_ms"])
        print(common.table_line(r["target"], (*cells, r["non_250"])))
        if r["errors"]:
            print(f"{'':<10}  errors: {r['errors']}")
    for line in common.cpu_parts_lines(rows, "message"):
        print(line)


def main() -> None:
    started = common.start(__doc__, TARGETS, "message", serve)
    if started is None:  # this is a child process, and its server has stopped
        return
    args, targets = started
    messages = make_messages(args.messages)
    warmup = make_messages(args.warmup, seed=7)
    sizes = [len(raw) for _, raw in messages]
    if not args.json:
        print(
            f"{len(messages)} messages, {min(sizes)}-{max(sizes)} bytes "
            f"(mean {statistics.fmean(sizes):.0f}), concurrency {args.concurrency}",
            file=sys.stderr,
        )
    common.skip_unreachable_postgres(targets)
    rows, load = common.best_of_rounds(
        targets,
        args.rounds,
        lambda t, label: run_target(t, args, messages, warmup, label),
        "msgs_per_s",
    )
    common.report(args.rounds, args.json, rows, load, print_table)


if __name__ == "__main__":
    main()
