"""`guichet worker`: Dramatiq worker threads on the ticket, acknowledgement and page queues, plus the sweeper."""

from __future__ import annotations

import logging
import signal
import threading

import dramatiq

from ingest.settings import Settings
from workers import actors
from workers.acks.live import default_set
from workers.broker import install, make_broker
from workers.running.heartbeat import Heartbeat
from workers.running.runtime import Runtime, set_runtime
from workers.store.migrate import upgrade
from workers.sweeper import Sweeper

log = logging.getLogger("guichet.worker")


def start_worker(
    settings: Settings, *, threads: int, queues: set[str] | None = None, sweep: bool = True
):
    """Start consuming; returns a `stop()` callable that drains and stops."""
    rt = Runtime(settings)
    set_runtime(rt)
    broker = install(make_broker(settings.broker_url, rt.sessions), actors.ALL)
    # Idle consumers back off from 5 ms up to `worker_idle_poll_ms` (config/settings.toml): at
    # 100 ms the eight consumers of an idle worker made ~80 Redis calls a second (4 % of a core
    # in the worker, 2 % in Redis); at 1 s a routine request reaching an idle worker waits
    # up to 1 s more. The urgent queue's consumer waits for a token instead (workers/consumer.py):
    # an urgent request is taken at once.
    worker = dramatiq.Worker(
        broker, queues=queues, worker_threads=threads, worker_timeout=settings.worker_idle_poll_ms
    )
    worker.start()
    beat = Heartbeat(settings.home, lambda: all(t.is_alive() for t in worker.workers)).start()
    sweeper = Sweeper(rt, broker) if sweep else None
    if sweeper:
        sweeper.start()

    def stop(timeout_ms: int = 30_000) -> None:
        beat.stop()
        if sweeper:
            sweeper.stop()
        worker.stop(timeout=timeout_ms)  # finishes the messages in hand, requeues the rest
        broker.close()

    return stop


def run_worker(settings: Settings, *, threads: int, queues: set[str] | None = None) -> int:
    upgrade(settings.database)
    stop = start_worker(settings, threads=threads, queues=queues)
    threading.Thread(target=_warm_up, name="guichet-warm-up", daemon=True).start()
    stopping = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stopping.set())
    log.info(
        "worker started", extra={"threads": threads, "queues": sorted(queues) if queues else "all"}
    )
    stopping.wait()
    log.info("worker stopping: draining messages in hand")
    stop()
    return 0


def _warm_up() -> None:
    """Load the live template set now, in the background: its check compiles every template
    and renders every scenario, and the set it checked goes live. Otherwise the first
    acknowledgement of each process paid for it, and the first urgent one of each kind for the
    templates only it uses (0.4 s on an idle machine, 1 s behind a backlog)."""
    try:
        default_set()
    except Exception:  # the first acknowledgement meets the same problem, and reports it
        log.warning("template set not loaded at start-up", exc_info=True)
