"""A Redis consumer that goes back for work as soon as a message it holds is done.

Dramatiq's Redis consumer counts "every prefetched message is still in hand" as a miss, like
an empty queue, and sleeps an exponential back-off up to the worker's idle timeout
(`worker_idle_poll_ms`, 1 s) before it fetches again.  Under a burst that left the worker
threads idle most of the time: the consumer slept up to a second while the queue held
thousands of messages (measured: 4.3 mails/s end to end on a quiet machine, 0.27 of a core
busy).  Here a hand still more than half full waits for the next ack instead (and refills
in one fetch once half of it is done); only an empty queue backs off.
"""

from __future__ import annotations

import threading

from dramatiq.brokers.redis import RedisBroker, _RedisConsumer

# A delay queue (retries, pages due later) holds messages due in seconds to days: its consumer
# looks this many times less often when it is empty. Half of a worker's consumers are on delay
# queues; idle, they made half of its Redis calls. A delayed message goes out at most this many
# idle polls late (5 s with the default 1 s poll).
DELAY_QUEUE_POLL_FACTOR = 5


class PromptConsumer(_RedisConsumer):
    def __init__(self, broker, queue_name, prefetch, timeout):
        if queue_name.endswith(".DQ"):
            timeout *= DELAY_QUEUE_POLL_FACTOR
        super().__init__(broker, queue_name, prefetch, timeout)
        self._freed = threading.Event()

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
            return super().__next__()
        # The hand is more than half full: wait for a message to be done (bounded, so a
        # stopping worker is noticed), not for a back-off that grows to the idle timeout.
        self._freed.wait(self.timeout / 1000)
        self._freed.clear()
        return None


class PromptRedisBroker(RedisBroker):
    @property
    def consumer_class(self):
        return PromptConsumer
