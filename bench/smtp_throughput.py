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
  sqlite     guichet's real listener (workers.edges.serve_smtp): parser processes,
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
import json
import os
import random
import signal
import smtplib
import statistics
import subprocess
import sys
import tempfile
import time
from email.message import EmailMessage
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # for tests.support (free ports, throw-away databases)

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


def make_message(i: int, rng: random.Random) -> tuple[str, bytes]:
    """One realistic customer mail of 3-8 KB; kind cycles plain / alternative / attachment."""
    name, address, number = rng.choice(SENDERS)
    kind = ("plain", "alternative", "attachment")[i % 3]
    opening = rng.choice(OPENINGS).format(n=rng.randint(1, 99))
    attachment = rng.randbytes(rng.randint(600, 1500)) if kind == "attachment" else b""
    domain = address.split("@")[1]

    def build(fillers: int) -> bytes:
        lines = ["Bonjour,", "", opening, f"Client {number}.", ""]
        lines += [FILLER] + ["> " + FILLER] * (fillers - 1) if fillers else []
        lines += ["", "Cordialement,", name, "Tél. 02 98 00 00 00"]
        msg = EmailMessage()
        msg["From"] = f"{name} <{address}>"
        msg["To"] = RECIPIENT
        msg["Subject"] = f"Incident {i} : {opening[:40]}"
        msg["Message-ID"] = f"<bench-{i}@{domain}>"
        msg["Date"] = "Thu, 26 Nov 2026 10:00:00 +0100"
        msg.set_content("\n".join(lines) + "\n")
        if kind == "alternative":
            html = "".join(f"<p>{line}</p>" for line in lines if line)
            msg.add_alternative(f"<html><body>{html}</body></html>", subtype="html")
        elif kind == "attachment":
            msg.add_attachment(
                attachment, maintype="application", subtype="pdf", filename="log.pdf"
            )
        return msg.as_bytes()

    # Size grows linearly with the filler lines: measure two points, then aim at the target.
    small, larger = len(build(0)), len(build(4))
    fillers = max(0, round((rng.randint(3200, 7800) - small) / ((larger - small) / 4)))
    return address, build(fillers)


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

    def factory() -> SMTP:  # the same options as ingest.smtp.smtp_factory
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
        from workers import logs
        from workers.edges import serve_smtp

        settings = Settings(
            home=Path(args.home),
            database_url=args.database_url,
            redis_url=args.redis_url,
            smtp_listen=f"127.0.0.1:{args.port}",
            log_format="json",
        )
        logs.setup("json", role="smtp")  # as `guichet smtp`; stderr goes to a file
        asyncio.run(serve_smtp(settings))


class Server:
    """A target in a child process; for guichet, with its own Redis and database."""

    def __init__(self, target: str, home: Path):
        from tests.support.services import free_port

        self.target, self.home, self.port = target, home, free_port()
        self.redis = self.pg = None
        self.process: subprocess.Popen | None = None

    def start(self) -> Server:
        command = [sys.executable, __file__, "--serve", self.target, "--port", str(self.port)]
        if self.target in ("sqlite", "postgres"):
            command += self._prepare_guichet()
        self.log = (self.home / f"{self.target}.log").open("wb")
        self.process = subprocess.Popen(command, stderr=self.log, stdout=self.log)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with smtplib.SMTP("127.0.0.1", self.port, timeout=2) as smtp:
                    smtp.noop()
                return self
            except OSError:
                if self.process.poll() is not None:
                    break
                time.sleep(0.1)
        self.stop()
        tail = Path(self.log.name).read_text(errors="replace")[-2000:]
        raise RuntimeError(f"{self.target} did not start:\n{tail}")

    def _prepare_guichet(self) -> list[str]:
        from ingest.config_files import config_dir
        from tests.support.services import PostgresDatabases, free_port
        from workers.embedded_redis import EmbeddedRedis
        from workers.store.directory import read_csv, store_accounts
        from workers.store.engine import session_factory
        from workers.store.migrate import upgrade

        self.redis = EmbeddedRedis(self.home / "redis", port=free_port(), socket=None).start()
        if self.target == "postgres":
            self.pg = PostgresDatabases()
            url = self.pg.create()
        else:
            url = f"sqlite:///{self.home / 'guichet.sqlite3'}"
        upgrade(url)
        accounts, problems = read_csv(config_dir() / "directory-demo.csv")
        assert not problems, problems
        with session_factory(url).begin() as session:
            store_accounts(session, accounts.values())
        return ["--home", str(self.home), "--database-url", url, "--redis-url", self.redis.url]

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.redis:
            self.redis.stop()
        if self.pg:
            self.pg.drop_all()


# -- client ----------------------------------------------------------------------------


async def drive(
    port: int, messages: list[tuple[str, bytes]], concurrency: int, deadline: float, progress
) -> dict:
    """Send every message over `concurrency` connections; stop at `deadline` (monotonic)."""
    import aiosmtplib

    pending = iter(messages)
    latencies: list[float] = []
    codes: dict[int, int] = {}
    errors: list[str] = []

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

    started = time.perf_counter()
    results = await asyncio.gather(
        *(connection() for _ in range(concurrency)), return_exceptions=True
    )
    elapsed = time.perf_counter() - started
    errors += [repr(r) for r in results if isinstance(r, BaseException)]
    return {"elapsed": elapsed, "latencies": latencies, "codes": codes, "errors": errors}


class Progress:
    """A counter line on stderr, redrawn at most 4 times a second."""

    def __init__(self, label: str, total: int, quiet: bool):
        self.label, self.total, self.done, self.shown = label, total, 0, 0.0
        self.quiet, self.tty = quiet, sys.stderr.isatty()

    def __call__(self, n: int) -> None:
        self.done += n
        now = time.monotonic()
        finished = self.done == self.total
        if not self.quiet and (finished or (self.tty and now - self.shown > 0.25)):
            self.shown = now
            print(f"\r  {self.label}: {self.done}/{self.total}", end="", file=sys.stderr)
            if finished:
                print(file=sys.stderr)


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def run_target(target: str, args: argparse.Namespace, messages, warmup, label: str) -> dict:
    with tempfile.TemporaryDirectory(prefix=f"guichet-bench-{target}-") as tmp:
        server = Server(target, Path(tmp)).start()
        try:
            asyncio.run(drive(server.port, warmup, 2, time.monotonic() + 60, lambda n: None))
            progress = Progress(target + label, len(messages), args.json)
            outcome = asyncio.run(
                drive(
                    server.port,
                    messages,
                    args.concurrency,
                    time.monotonic() + args.timeout,
                    progress,
                )
            )
        finally:
            server.stop()
    lat = outcome["latencies"]
    sent = sum(outcome["codes"].values())
    return {
        "target": target,
        "messages": sent,
        "concurrency": args.concurrency,
        "elapsed_s": round(outcome["elapsed"], 3),
        "msgs_per_s": round(sent / outcome["elapsed"], 1) if sent else 0.0,
        "p50_ms": round(percentile(lat, 50) * 1000, 2) if lat else None,
        "p95_ms": round(percentile(lat, 95) * 1000, 2) if lat else None,
        "p99_ms": round(percentile(lat, 99) * 1000, 2) if lat else None,
        "mean_ms": round(statistics.fmean(lat) * 1000, 2) if lat else None,
        "non_250": sum(n for code, n in outcome["codes"].items() if code != 250),
        "codes": {str(k): v for k, v in sorted(outcome["codes"].items())},
        "errors": outcome["errors"][:5],
    }


def postgres_reachable() -> bool:
    try:
        from sqlalchemy import create_engine, text

        from tests.support.services import PG_ADMIN_URL

        engine = create_engine(PG_ADMIN_URL, connect_args={"connect_timeout": 2})
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
        return True
    except Exception:
        return False


def print_table(rows: list[dict]) -> None:
    header = ("target", "msgs", "msgs/s", "p50 ms", "p95 ms", "p99 ms", "non-250")
    print(f"{header[0]:<10}" + "".join(f"{h:>10}" for h in header[1:]))
    for r in rows:
        if "skipped" in r:
            print(f"{r['target']:<10}  skipped: {r['skipped']}")
            continue
        cells = (r["messages"], r["msgs_per_s"], r["p50_ms"], r["p95_ms"], r["p99_ms"])
        print(f"{r['target']:<10}" + "".join(f"{c:>10}" for c in (*cells, r["non_250"])))
        if r["errors"]:
            print(f"{'':<10}  errors: {r['errors']}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--messages", type=int, default=2000, help="messages per target")
    parser.add_argument("--concurrency", type=int, default=8, help="client connections")
    parser.add_argument(
        "--only", default=",".join(TARGETS), help=f"comma-separated subset of {','.join(TARGETS)}"
    )
    parser.add_argument(
        "--rounds", type=int, default=1, help="interleaved rounds; the best one per target is kept"
    )
    parser.add_argument("--warmup", type=int, default=40, help="untimed messages first")
    parser.add_argument("--timeout", type=float, default=600, help="seconds per target, at most")
    parser.add_argument("--json", action="store_true", help="print JSON instead of the table")
    parser.add_argument("--serve", choices=TARGETS, help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--home", help=argparse.SUPPRESS)
    parser.add_argument("--database-url", help=argparse.SUPPRESS)
    parser.add_argument("--redis-url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        return serve(args)

    # SIGTERM (e.g. from `timeout`) unwinds like Ctrl-C, so servers, Redis and databases stop.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    targets = [t.strip() for t in args.only.split(",") if t.strip()]
    unknown = set(targets) - set(TARGETS)
    if unknown:
        parser.error(f"unknown target(s): {', '.join(sorted(unknown))}")
    messages = make_messages(args.messages)
    warmup = make_messages(args.warmup, seed=7)
    sizes = [len(raw) for _, raw in messages]
    if not args.json:
        print(
            f"{len(messages)} messages, {min(sizes)}-{max(sizes)} bytes "
            f"(mean {statistics.fmean(sizes):.0f}), concurrency {args.concurrency}",
            file=sys.stderr,
        )
    if "postgres" in targets and not postgres_reachable():
        targets.remove("postgres")
        print("postgres skipped: PostgreSQL unreachable", file=sys.stderr)
    load_before = os.getloadavg()
    best: dict[str, dict] = {}
    for round_ in range(1, args.rounds + 1):  # interleaved, so load changes hit every target
        for target in targets:
            row = run_target(target, args, messages, warmup, f" (round {round_})")
            if target not in best or row["msgs_per_s"] > best[target]["msgs_per_s"]:
                best[target] = row
    rows = [best[t] for t in targets]
    load = {"before": load_before, "after": os.getloadavg(), "cpus": os.cpu_count()}
    if args.json:
        json.dump({"rounds": args.rounds, "loadavg": load, "results": rows}, sys.stdout, indent=2)
        print()
    else:
        print_table(rows)
        print(
            f"best of {args.rounds} round(s); load average {load['before'][0]:.2f} before, "
            f"{load['after'][0]:.2f} after, {load['cpus']} CPUs"
        )


if __name__ == "__main__":
    main()
