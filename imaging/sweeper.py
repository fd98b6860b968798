"""Requeue the messages of workers that died.

Dramatiq's Redis broker only requeues a dead worker's unacknowledged messages during a
"maintenance" pass, which runs on a random 1-in-1000 chance per fetch; under light load that can
take a very long time. The sweeper runs the same maintenance every few seconds, so a job held by a
killed worker resumes within about ``heartbeat_timeout`` plus one interval (5 s + 1 s).
"""

from __future__ import annotations

import logging
import threading

from dramatiq.brokers.redis import RedisBroker
from dramatiq.common import current_millis

log = logging.getLogger(__name__)

# A pass is a few cheap Lua calls per queue; once a second keeps a killed worker's job waiting about
# heartbeat_timeout + 1 s (measured by tests/reliability/test_worker_kill.py).
SWEEP_INTERVAL_SECONDS = 1.0


class Sweeper:
    def __init__(self, broker: RedisBroker, interval: float = SWEEP_INTERVAL_SECONDS) -> None:
        self.broker = broker
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="dead-worker-sweeper", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def sweep(self, queue: str) -> None:
        """Run the broker's own maintenance step on ``queue`` now.

        This calls the broker's dispatch script exactly as its ``do_*`` helpers do, with the
        maintenance flag forced on and the read-only ``qsize`` command.
        """
        b = self.broker
        b.scripts["dispatch"](
            keys=[b.namespace],
            args=[
                "qsize", current_millis(), queue, b.broker_id, b.heartbeat_timeout, b.dead_message_ttl,
                1, b._max_unpack_size(),
            ],
        )

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            for queue in sorted(self.broker.get_declared_queues()):
                try:
                    self.sweep(queue)
                except Exception as exc:  # Redis down: the next pass tries again
                    log.warning("maintenance of %s failed: %s", queue, exc)
