"""A Redis consumer that goes back for work as soon as a message it holds is done, and that
waits on an empty queue instead of polling it.

Dramatiq's Redis consumer counts "every prefetched message is still in hand" as a miss, like
an empty queue, and sleeps an exponential back-off up to the worker's idle timeout
(`worker_idle_poll_ms`, 1 s) before it fetches again.  Under a burst that left the worker
threads idle most of the time: the consumer slept up to a second while the queue held
thousands of messages (measured: 4.3 mails/s end to end on a quiet machine, 0.27 of a core
busy).  Here a hand still more than half full waits for the next ack instead (and refills
in one fetch once half of it is done).

The urgent queue, when empty, is not polled every idle timeout either: its consumer waits on
the queue's wake list (`ingest.queueing.WakingRedisBroker` drops a token there with every
urgent message due now) for `WAKE_FACTOR` idle timeouts, and looks at the queue itself every
`LOOK_EVERY` waits that no token ended (messages Redis requeued itself, from a worker that
died, carry no token). An urgent request reaching an idle worker waited up to that timeout (1 s
by default) for the next poll; it is now taken at once. A worker that stops wakes its own
waiting consumers first, so that stopping takes no longer than before.
"""

from __future__ import annotations

import threading

import redis
from dramatiq.brokers.redis import _RedisConsumer
from dramatiq.errors import ConnectionClosed
from dramatiq.middleware import Middleware

from ingest.queueing import WakingRedisBroker, wake_key

# A delay queue (retries, pages due later) holds messages due in seconds to days: its consumer
# looks this many times less often when it is empty. Half of a worker's consumers are on delay
# queues; idle, they made half of its Redis calls. A delayed message goes out at most this many
# idle polls late (5 s with the default 1 s poll).
DELAY_QUEUE_POLL_FACTOR = 5
# An empty queue's consumer waits for a token this many idle polls at a time (bounded below
# the broker's 5 s socket timeout), and fetches anyway after LOOK_EVERY waits with none.
WAKE_FACTOR = 3
MAX_WAIT_S = 3.0
LOOK_EVERY = 3


class PromptConsumer(_RedisConsumer):
    def __init__(self, broker, queue_name, prefetch, timeout):
        delayed = queue_name.endswith(".DQ")
        if delayed:
            timeout *= DELAY_QUEUE_POLL_FACTOR
        super().__init__(broker, queue_name, prefetch, timeout)
        self._freed = threading.Event()
        # Other queues (and a delay queue, whose messages come due with time) keep polling.
        self._waits = queue_name in broker.waking_queues
        self._wait_s = min(timeout * WAKE_FACTOR / 1000, MAX_WAIT_S)
        self._empty = False  # the last look found the queue empty
        self._quiet = 0  # waits in a row that no token ended

    def ack(self, message):
        try:
            super().ack(message)
        finally:
            self._freed.set()

    def nack(self, message):
        try:
            super().nack(message)
        finally:
            self._freed.set()

    def __next__(self):
        # Refill once half the hand is done: one fetch (a Lua call in Redis) per several
        # messages, not one per ack.
        if self.message_cache or self.outstanding_message_count <= self.prefetch // 2:
            if self._empty and self._waiting_allowed():
                if not self._woken() and self._quiet % LOOK_EVERY:
                    return None  # nothing says there is work, and it is not yet time to look
                self.misses = 0  # Dramatiq's back-off after an empty look starts short again
            message = super().__next__()
            self._empty = message is None and not self.message_cache
            return message
        # The hand is more than half full: wait for a message to be done (bounded, so a
        # stopping worker is noticed), not for a back-off that grows to the idle timeout.
        self._freed.wait(self.timeout / 1000)
        self._freed.clear()
        return None

    def _waiting_allowed(self) -> bool:
        # Never with a message in hand: its ack, posted to this consumer's thread, would wait.
        return (
            self._waits
            and self.outstanding_message_count == 0
            and not self.broker.stopping.is_set()
        )

    def _woken(self) -> bool:
        """Whether a token came (a message due now, or this worker stopping) within the wait."""
        keys = [wake_key(self.broker.namespace, self.queue_name), self.broker.stop_key]
        try:
            token = self.broker.client.blpop(keys, timeout=self._wait_s)
        except redis.RedisError as exc:
            raise ConnectionClosed(exc) from None
        self._quiet = 0 if token is not None else self._quiet + 1
        return token is not None


class _WakeOnShutdown(Middleware):
    """Before a worker stops, its consumers waiting on a wake list are woken and wait no more."""

    def before_worker_shutdown(self, broker, worker):
        broker.stop_waiting(len(worker.consumers) + 1)


class PromptRedisBroker(WakingRedisBroker):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.stopping = threading.Event()
        self.stop_key = f"{self.namespace}:guichet-stop:{self.broker_id}"
        self.add_middleware(_WakeOnShutdown())

    @property
    def consumer_class(self):
        return PromptConsumer

    def stop_waiting(self, consumers: int) -> None:
        """Wake every consumer of this broker waiting on a wake list; none waits afterwards."""
        self.stopping.set()
        try:
            pipe = self.client.pipeline(transaction=False)
            pipe.lpush(self.stop_key, *["1"] * consumers).expire(self.stop_key, 60).execute()
        except redis.RedisError:  # Redis gone: the waits end with their timeout
            pass
