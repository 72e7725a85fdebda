"""Celery with the Redis broker on this machine: the anchor for dispatch latency."""

import os

from celery import Celery

from bench.jobs import REDIS_URL, record_start

app = Celery("keel_bench", broker=REDIS_URL)
# A queue of our own so nothing else on the shared Redis is consumed or disturbed.
app.conf.task_default_queue = os.environ.get("BENCH_CELERY_QUEUE", "keel-bench")
app.conf.task_ignore_result = True
app.conf.broker_connection_retry_on_startup = True


@app.task(name="bench.noop")
def noop(tag: str, job: int, enqueued_at: float) -> None:
    record_start(tag, job, enqueued_at)
