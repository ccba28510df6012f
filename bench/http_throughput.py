"""Webhook edge throughput: guichet's signed POST endpoint side by side with a bare Starlette app.

What is measured: N signed JSON requests of about 2 KB (a reseller's support request,
Standard Webhooks headers, a fresh webhook-id each) are POSTed over C concurrent loopback
HTTP/1.1 keep-alive connections.  For each target we report requests/s over the whole run,
the latency of one POST (request sent to response read) at p50/p95/p99, and the number of
responses that were not 202.

Targets, each served by uvicorn in its own child process (the client stays in this process):

  baseline   a bare Starlette app that reads the body and answers 202 (the floor: HTTP itself)
  sqlite     `guichet web` (workers.running.web_process.serve_web): signature check, idempotency,
             rules, SqlJournal on SQLite (WAL, synchronous=FULL) in a temp dir, Redis broker
             on a temporary redis-server; workers NOT running; the per-partner rate
             limit is lifted (GUICHET_WEBHOOK_RATE/BURST) so that it is not what is measured
  postgres   the same with a throw-away PostgreSQL database (skipped when unreachable)

Usage: .venv/bin/python bench/http_throughput.py [--requests 2000] [--concurrency 8]
       [--rounds 1] [--only baseline,sqlite,postgres] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import uuid
from pathlib import Path

import common  # same folder; also puts the repository on sys.path, for tests.support

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
    from workers.running import logs
    from workers.running.web_process import serve_web

    settings = Settings(
        home=Path(args.home),
        database_url=args.database_url,
        redis_url=args.redis_url,
        http_listen=f"127.0.0.1:{args.port}",
    )
    logs.setup("json", role="web")  # as `guichet web`; stderr goes to a file
    serve_web(settings)


class Server(common.Server):
    """A target in a child process; for guichet, with its own Redis, database and partner."""

    script = __file__
    # Lift the per-partner token bucket (10/s by default): the bucket still runs, but the
    # bench measures the edge, not the limit.
    env = {"GUICHET_WEBHOOK_RATE": "1000000", "GUICHET_WEBHOOK_BURST": "1000000"}

    def ready(self) -> bool:
        import httpx

        try:
            httpx.get(f"http://127.0.0.1:{self.port}/", timeout=2)
            return True
        except httpx.TransportError:
            return False

    def setup_database(self, url: str) -> None:
        from workers.store.engine import session_factory
        from workers.store.partners import SqlPartners, secret_box

        SqlPartners(session_factory(url), secret_box(self.home)).add(PARTNER, ["20481"], SECRET)


# -- client ----------------------------------------------------------------------------


async def drive(port: int, bodies: list[bytes], concurrency: int, deadline: float, progress):
    """POST every body over `concurrency` keep-alive connections; stop at `deadline`."""
    import httpx

    from ingest.edges.webhook.signatures import sign

    pending = iter(bodies)
    outcome: dict = {"latencies": [], "codes": {}, "errors": []}
    latencies, codes, errors = outcome["latencies"], outcome["codes"], outcome["errors"]
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

    return await common.run_connections(connection, concurrency, outcome)


def run_target(target: str, args: argparse.Namespace, bodies, warmup, label: str) -> dict:
    outcome = common.measure(
        Server, target, "guichet-bench-http-", drive, bodies, warmup, args, label
    )
    return common.summarise(target, outcome, args.concurrency, "requests", "req_per_s", 202)


def print_table(rows: list[dict]) -> None:
    header = ("target", "reqs", "reqs/s", "p50 ms", "p95 ms", "p99 ms", "cpu ms", "non-202")
    print(common.table_line(header[0], header[1:]))
    for r in rows:
        cells = (r["requests"], r["req_per_s"], r["p50_ms"], r["p95_ms"], r["p99_ms"], r["cpu_ms"])
        print(common.table_line(r["target"], (*cells, r["non_202"])))
        if r["errors"] or r["non_202"]:
            print(f"{'':<10}  codes: {r['codes']} errors: {r['errors']}")
    for line in common.cpu_parts_lines(rows, "request"):
        print(line)


def main() -> None:
    started = common.start(__doc__, TARGETS, "request", serve)
    if started is None:  # this is a child process, and its server has stopped
        return
    args, targets = started
    common.skip_unreachable_postgres(targets)
    bodies = [make_body(i) for i in range(args.requests)]
    warmup = [make_body(-i) for i in range(1, args.warmup + 1)]
    rows, load = common.best_of_rounds(
        targets,
        args.rounds,
        lambda t, label: run_target(t, args, bodies, warmup, label),
        "req_per_s",
    )
    if not args.json:
        print(f"{len(bodies)} requests of {len(bodies[0])} bytes", file=sys.stderr)
    common.report(args.rounds, args.json, rows, load, print_table)


if __name__ == "__main__":
    main()
