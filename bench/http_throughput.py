"""Webhook edge throughput: guichet's signed POST endpoint side by side with a bare Starlette app.

What is measured: N signed JSON requests of about 2 KB (a reseller's support request,
Standard Webhooks headers, a fresh webhook-id each) are POSTed over C concurrent loopback
HTTP/1.1 keep-alive connections.  For each target we report requests/s over the whole run,
the latency of one POST (request sent to response read) at p50/p95/p99, and the number of
responses that were not 202.

Targets, each served by uvicorn in its own child process (the client stays in this process):

  baseline   a bare Starlette app that reads the body and answers 202 (the floor: HTTP itself)
  sqlite     `guichet web` (workers.web_process.serve_web): signature check, idempotency,
             rules, SqlJournal on SQLite (WAL, synchronous=FULL) in a temp dir, Redis broker
             on a temporary redis-server; workers NOT running; the per-partner rate
             limit is lifted (GUICHET_WEBHOOK_RATE/BURST) so that it is not what is measured
  postgres   the same with a throw-away PostgreSQL database (skipped when unreachable)

Usage: .venv/bin/python bench/http_throughput.py [--requests 2000] [--concurrency 8]
       [--rounds 1] [--only baseline,sqlite,postgres] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from smtp_throughput import Progress, percentile, postgres_reachable  # same folder

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TARGETS = ("baseline", "sqlite", "postgres")
PARTNER = "bench-reseller"
SECRET = "whsec_" + "YmVuY2gtc2VjcmV0LW9mLXRoaXJ0eS10d28tYnl0ZXM="  # 32 bytes, bench only


STEPS = [
    "Depuis la migration de vendredi, les messages envoyés à contact@armor-logistique.fr",
    "reviennent avec une erreur temporaire; les autres adresses du domaine fonctionnent.",
    "Nous avons vérifié les enregistrements MX, SPF et DKIM depuis notre poste et depuis",
    "un outil en ligne: le MX pointe bien vers mx1 et mx2, le SPF inclut vos relais.",
    "Le TTL de la zone est de 3600 secondes, et la modification date de plus de 48 heures.",
    "Pourriez-vous regarder si un ancien enregistrement reste en cache chez vous, et nous",
    "indiquer la marche à suivre pour la redirection vers la nouvelle boîte partagée ?",
    "Ci-dessous la réponse de dig pour mémoire (extrait):",
    "armor-logistique.fr. 3600 IN MX 10 mx1.dri.example.",
    "armor-logistique.fr. 3600 IN MX 20 mx2.dri.example.",
    'armor-logistique.fr. 3600 IN TXT "v=spf1 include:_spf.dri.example -all"',
    "mx1.dri.example. 3600 IN A 192.0.2.25",
    "mx2.dri.example. 3600 IN A 192.0.2.26",
    "Message d'erreur reçu par l'expéditeur: 451 4.3.0 Temporary lookup failure.",
    "Le problème touche aussi les envois depuis nos téléphones, pas seulement Outlook.",
    "Notre prestataire informatique a confirmé que notre pare-feu n'avait pas changé.",
    "Ce n'est pas urgent, mais nous aimerions que ce soit réglé avant la fin du mois.",
    "Nous restons disponibles au standard pour toute question, du lundi au vendredi.",
    "Bonne journée à toute l'équipe, et merci d'avance pour votre retour.",
]


def make_body(i: int) -> bytes:
    """About 2 KB of JSON: a routine DNS request from a verified contact of account 20481."""
    payload = {
        "client_number": "20481",
        "contact_name": "Jean-François Hervé",
        "contact_email": "jf.herve@armor-logistique.fr",
        "subject": f"Question sur la configuration DNS ({i})",
        "body": "Bonjour,\n\n" + "\n".join(STEPS) + "\n\nJean-François Hervé\n",
        "language": "fr",
        "service": "DNS",
        "external_reference": f"RES-{i}",
    }
    return json.dumps(payload).encode()


# -- servers (child processes) ---------------------------------------------------------


def baseline_app():
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    async def accept(request):
        await request.body()
        return JSONResponse({"status": "queued"}, status_code=202)

    return Starlette(routes=[Route(f"/v1/partners/{PARTNER}/requests", accept, methods=["POST"])])


def serve(args: argparse.Namespace) -> None:
    """Child process entry: run one target until SIGTERM (uvicorn handles it)."""
    if args.serve == "baseline":
        import uvicorn

        config = uvicorn.Config(
            baseline_app(), host="127.0.0.1", port=args.port, log_config=None, access_log=False
        )
        uvicorn.Server(config).run()
        return
    from ingest.settings import Settings
    from workers import logs
    from workers.web_process import serve_web

    settings = Settings(
        home=Path(args.home),
        database_url=args.database_url,
        redis_url=args.redis_url,
        http_listen=f"127.0.0.1:{args.port}",
    )
    logs.setup("json", role="web")  # as `guichet web`; stderr goes to a file
    serve_web(settings)


class Server:
    """A target in a child process; for guichet, with its own Redis, database and partner."""

    def __init__(self, target: str, home: Path):
        from tests.support.services import free_port

        self.target, self.home, self.port = target, home, free_port()
        self.redis = self.pg = self.process = None

    def start(self) -> Server:
        import httpx

        command = [sys.executable, __file__, "--serve", self.target, "--port", str(self.port)]
        if self.target != "baseline":
            command += self._prepare_guichet()
        self.log = (self.home / f"{self.target}.log").open("wb")
        # Lift the per-partner token bucket (10/s by default): the bucket still runs, but the
        # bench measures the edge, not the limit.
        env = {**os.environ, "GUICHET_WEBHOOK_RATE": "1000000", "GUICHET_WEBHOOK_BURST": "1000000"}
        self.process = subprocess.Popen(command, stderr=self.log, stdout=self.log, env=env)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and self.process.poll() is None:
            try:
                httpx.get(f"http://127.0.0.1:{self.port}/", timeout=2)
                return self
            except httpx.TransportError:
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
        from workers.store.partners import SqlPartners, secret_box

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
        SqlPartners(session_factory(url), secret_box(self.home)).add(PARTNER, ["20481"], SECRET)
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


async def drive(port: int, bodies: list[bytes], concurrency: int, deadline: float, progress):
    """POST every body over `concurrency` keep-alive connections; stop at `deadline`."""
    import httpx

    from ingest.webhook.signatures import sign

    pending = iter(bodies)
    latencies: list[float] = []
    codes: dict[int, int] = {}
    errors: list[str] = []
    url = f"http://127.0.0.1:{port}/v1/partners/{PARTNER}/requests"

    async def connection() -> None:
        async with httpx.AsyncClient(timeout=60) as client:
            for body in pending:
                if time.monotonic() > deadline:
                    errors.append("deadline reached")
                    return
                msg_id, stamp = f"msg_{uuid.uuid4().hex}", int(time.time())
                headers = {
                    "webhook-id": msg_id,
                    "webhook-timestamp": str(stamp),
                    "webhook-signature": sign(SECRET, msg_id, stamp, body),
                    "content-type": "application/json",
                }
                started = time.perf_counter()
                response = await client.post(url, content=body, headers=headers)
                latencies.append(time.perf_counter() - started)
                codes[response.status_code] = codes.get(response.status_code, 0) + 1
                progress(1)

    started = time.perf_counter()
    results = await asyncio.gather(
        *(connection() for _ in range(concurrency)), return_exceptions=True
    )
    elapsed = time.perf_counter() - started
    errors += [repr(r) for r in results if isinstance(r, BaseException)]
    return {"elapsed": elapsed, "latencies": latencies, "codes": codes, "errors": errors}


def run_target(target: str, args: argparse.Namespace, bodies, warmup, label: str) -> dict:
    with tempfile.TemporaryDirectory(prefix=f"guichet-bench-http-{target}-") as tmp:
        server = Server(target, Path(tmp)).start()
        try:
            asyncio.run(drive(server.port, warmup, 2, time.monotonic() + 60, lambda n: None))
            progress = Progress(target + label, len(bodies), args.json)
            deadline = time.monotonic() + args.timeout
            outcome = asyncio.run(drive(server.port, bodies, args.concurrency, deadline, progress))
        finally:
            server.stop()
    lat, sent = outcome["latencies"], sum(outcome["codes"].values())

    def ms(p: float) -> float | None:
        return round(percentile(lat, p) * 1000, 2) if lat else None

    return {
        "target": target,
        "requests": sent,
        "concurrency": args.concurrency,
        "elapsed_s": round(outcome["elapsed"], 3),
        "req_per_s": round(sent / outcome["elapsed"], 1) if sent else 0.0,
        "p50_ms": ms(50),
        "p95_ms": ms(95),
        "p99_ms": ms(99),
        "mean_ms": round(statistics.fmean(lat) * 1000, 2) if lat else None,
        "non_202": sum(n for code, n in outcome["codes"].items() if code != 202),
        "codes": {str(k): v for k, v in sorted(outcome["codes"].items())},
        "errors": outcome["errors"][:5],
    }


def print_table(rows: list[dict]) -> None:
    header = ("target", "reqs", "reqs/s", "p50 ms", "p95 ms", "p99 ms", "non-202")
    print(f"{header[0]:<10}" + "".join(f"{h:>10}" for h in header[1:]))
    for r in rows:
        cells = (r["requests"], r["req_per_s"], r["p50_ms"], r["p95_ms"], r["p99_ms"])
        print(f"{r['target']:<10}" + "".join(f"{c:>10}" for c in (*cells, r["non_202"])))
        if r["errors"] or r["non_202"]:
            print(f"{'':<10}  codes: {r['codes']} errors: {r['errors']}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=2000, help="requests per target")
    parser.add_argument("--concurrency", type=int, default=8, help="client connections")
    parser.add_argument(
        "--only", default=",".join(TARGETS), help=f"comma-separated subset of {','.join(TARGETS)}"
    )
    parser.add_argument(
        "--rounds", type=int, default=1, help="interleaved rounds; the best one per target is kept"
    )
    parser.add_argument("--warmup", type=int, default=40, help="untimed requests first")
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
    if set(targets) - set(TARGETS):
        parser.error(f"unknown target(s): {', '.join(sorted(set(targets) - set(TARGETS)))}")
    if "postgres" in targets and not postgres_reachable():
        targets.remove("postgres")
        print("postgres skipped: PostgreSQL unreachable", file=sys.stderr)
    bodies = [make_body(i) for i in range(args.requests)]
    warmup = [make_body(-i) for i in range(1, args.warmup + 1)]
    load_before = os.getloadavg()
    best: dict[str, dict] = {}
    for round_ in range(1, args.rounds + 1):
        for target in targets:
            row = run_target(target, args, bodies, warmup, f" (round {round_})")
            if target not in best or row["req_per_s"] > best[target]["req_per_s"]:
                best[target] = row
    rows = [best[t] for t in targets]
    load = {"before": load_before, "after": os.getloadavg(), "cpus": os.cpu_count()}
    if args.json:
        json.dump({"rounds": args.rounds, "loadavg": load, "results": rows}, sys.stdout, indent=2)
        print()
    else:
        print(f"{len(bodies)} requests of {len(bodies[0])} bytes", file=sys.stderr)
        print_table(rows)
        print(
            f"best of {args.rounds} round(s); load average {load['before'][0]:.2f} before, "
            f"{load['after'][0]:.2f} after, {load['cpus']} CPUs"
        )


if __name__ == "__main__":
    main()
