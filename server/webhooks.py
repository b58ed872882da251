"""Webhooks: registered URLs get signed JSON events, delivered in the background with retries.

:func:`emit` is called by the routes after their transaction committed (an event about a
rolled-back write must never go out). It finds the active webhooks that subscribe to the
event and hands one job per webhook to the app's :class:`Dispatcher`: a worker thread
that posts the body with ``X-Crlhf-Event`` and ``X-Crlhf-Signature`` (HMAC-SHA256 over
timestamp and body, see :mod:`crlhf.webhooks`; re-signed at every attempt, so the
timestamp is fresh), and on a network error or a non-2xx answer retries after
``webhook_backoff_s`` · 2^(attempt−1) seconds, up to ``webhook_max_attempts``. Every
attempt is a row of ``webhook_deliveries``. The worker thread starts with the first job
and ends when nothing is left to send, so idle servers (and test apps) hold no thread.

The dispatcher belongs to the app (``Context.webhooks``, built in ``create_app``). At
shutdown :meth:`Dispatcher.close` gives due jobs a grace period to finish and writes every
job still queued (a retry waiting for its backoff, a job the grace period did not reach) to
``webhook_outbox``; the next start (:meth:`Dispatcher.resume`) sends them. No event is
dropped because the server stopped.

Body: ``{"event": ..., "delivery_id": ..., "created_at": ..., "data": {...}}``.
"""

from __future__ import annotations

import heapq
import itertools
import json
import logging
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any

import httpx
from crlhf_server.clock import now_iso
from crlhf_server.db import Store
from crlhf_server.settings import Settings
from crlhf_server.views import parse_time

from crlhf.errors import WebhookNotFound
from crlhf.schemas import Webhook, WebhookDelivery, WebhookEvent, WebhookIn
from crlhf.webhooks import EVENT_HEADER, SIGNATURE_HEADER, signature_header

logger = logging.getLogger(__name__)

IDLE_EXIT_S = 1.0
"""The worker thread ends after this long with nothing queued."""


@dataclass(frozen=True)
class _Job:
    webhook_id: int
    url: str
    secret: str
    event: str
    delivery_id: str
    body: bytes
    attempt: int = 1


class Dispatcher:
    """Delivers jobs in one background thread, retrying with exponential backoff."""

    def __init__(self, store: Store, *, max_attempts: int, backoff_s: float, timeout_s: float):
        self._store = store
        self._max_attempts = max_attempts
        self._backoff_s = backoff_s
        self._timeout_s = timeout_s
        self._queue: list[tuple[float, int, _Job]] = []
        self._order = itertools.count()
        self._cond = threading.Condition()
        self._busy = 0
        self._closed = False
        self._thread: threading.Thread | None = None

    @classmethod
    def from_settings(cls, store: Store, settings: Settings) -> Dispatcher:
        return cls(
            store,
            max_attempts=settings.webhook_max_attempts,
            backoff_s=settings.webhook_backoff_s,
            timeout_s=settings.webhook_timeout_s,
        )

    def submit(self, job: _Job, delay_s: float = 0.0) -> None:
        with self._cond:
            if self._closed:
                self._persist([(time.monotonic() + delay_s, job)])
                return
            heapq.heappush(self._queue, (time.monotonic() + delay_s, next(self._order), job))
            self._cond.notify()
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="webhooks", daemon=True)
                self._thread.start()

    def emit(self, event: WebhookEvent, data: dict[str, Any]) -> int:
        """Queue ``event`` for every active webhook subscribed to it; return how many.

        Call after the transaction that made the event has committed.
        """
        hooks = (
            self._store.read()
            .execute("SELECT id, url, secret, events FROM webhooks WHERE active = 1")
            .fetchall()
        )
        queued = 0
        for hook in hooks:
            events = json.loads(hook["events"])
            if events and event.value not in events:
                continue
            delivery_id = uuid.uuid4().hex
            body = json.dumps(
                {
                    "event": event.value,
                    "delivery_id": delivery_id,
                    "created_at": now_iso(),
                    "data": data,
                },
                separators=(",", ":"),
            ).encode()
            self.submit(
                _Job(hook["id"], hook["url"], hook["secret"], event.value, delivery_id, body)
            )
            queued += 1
        return queued

    def resume(self) -> int:
        """Queue the jobs a previous shutdown left in ``webhook_outbox``; return how many.

        A job keeps its attempt count and its due time (wall clock, so time spent stopped
        counts toward the backoff); a webhook deactivated meanwhile gets nothing (logged).
        """
        with self._store.write() as conn:
            rows = conn.execute("SELECT * FROM webhook_outbox ORDER BY id").fetchall()
            conn.execute("DELETE FROM webhook_outbox")
            active = {
                r["id"]: r
                for r in conn.execute("SELECT id, url, secret FROM webhooks WHERE active = 1")
            }
        resumed = 0
        for row in rows:
            hook = active.get(row["webhook_id"])
            if hook is None:
                logger.warning(
                    "webhook %s: inactive, dropping queued delivery %s",
                    row["webhook_id"],
                    row["delivery_id"],
                )
                continue
            job = _Job(
                row["webhook_id"],
                hook["url"],
                hook["secret"],
                row["event"],
                row["delivery_id"],
                bytes(row["body"]),
                row["attempt"],
            )
            self.submit(job, max(0.0, float(row["due_at"]) - time.time()))
            resumed += 1
        if resumed:
            logger.info("resumed %d webhook deliveries from the outbox", resumed)
        return resumed

    def close(self, grace_s: float) -> int:
        """Stop: let due jobs finish for up to ``grace_s``, persist the rest; return how many.

        Jobs whose backoff has not run out are persisted at once rather than waited for.
        """
        deadline = time.monotonic() + grace_s
        with self._cond:
            while self._busy or (self._queue and self._queue[0][0] <= time.monotonic()):
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._cond.wait(left)
            self._closed = True
            left_over = [(due, job) for due, _, job in self._queue]
            self._queue.clear()
            self._cond.notify_all()
        self._persist(left_over)
        return len(left_over)

    def _persist(self, jobs: list[tuple[float, _Job]]) -> None:
        if not jobs:
            return
        wall_minus_monotonic = time.time() - time.monotonic()
        with self._store.write() as conn:
            conn.executemany(
                "INSERT INTO webhook_outbox (webhook_id, event, delivery_id, body, attempt, "
                "due_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        job.webhook_id,
                        job.event,
                        job.delivery_id,
                        job.body,
                        job.attempt,
                        due + wall_minus_monotonic,
                        now_iso(),
                    )
                    for due, job in jobs
                ],
            )
        logger.info("kept %d webhook deliveries in the outbox for the next start", len(jobs))

    def wait_idle(self, timeout_s: float) -> bool:
        """Block until nothing is queued or in flight (tests, shutdown); False on timeout."""
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while self._queue or self._busy:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
        return True

    def _next(self) -> _Job | None:
        with self._cond:
            while True:
                if not self._queue:
                    self._cond.wait(IDLE_EXIT_S)
                    if not self._queue:
                        self._thread = None
                        self._cond.notify_all()
                        return None
                    continue
                due = self._queue[0][0] - time.monotonic()
                if due > 0:
                    self._cond.wait(due)
                    continue
                self._busy += 1
                return heapq.heappop(self._queue)[2]

    def _run(self) -> None:
        while (job := self._next()) is not None:
            try:
                self._deliver(job)
            except Exception:  # a broken job must not stop the others' delivery
                logger.exception("webhook %s: delivery failed unexpectedly", job.webhook_id)
            finally:
                with self._cond:
                    self._busy -= 1
                    self._cond.notify_all()

    def _deliver(self, job: _Job) -> None:
        status: int | None = None
        error: str | None = None
        headers = {
            "Content-Type": "application/json",
            EVENT_HEADER: job.event,
            SIGNATURE_HEADER: signature_header(job.secret, job.body),
        }
        try:
            response = httpx.post(
                job.url, content=job.body, headers=headers, timeout=self._timeout_s
            )
            status = response.status_code
            if not response.is_success:
                error = f"answered {status}"
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"
        delivered = error is None
        with self._store.write() as conn:
            conn.execute(
                "INSERT INTO webhook_deliveries (webhook_id, event, delivery_id, attempt, "
                "status_code, error, delivered, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    job.webhook_id,
                    job.event,
                    job.delivery_id,
                    job.attempt,
                    status,
                    error,
                    int(delivered),
                    now_iso(),
                ),
            )
        if not delivered and job.attempt < self._max_attempts:
            delay = self._backoff_s * 2 ** (job.attempt - 1)
            logger.info(
                "webhook %s: %s; retry %d in %.1f s", job.webhook_id, error, job.attempt + 1, delay
            )
            self.submit(
                _Job(
                    job.webhook_id,
                    job.url,
                    job.secret,
                    job.event,
                    job.delivery_id,
                    job.body,
                    job.attempt + 1,
                ),
                delay,
            )
        elif not delivered:
            logger.warning(
                "webhook %s: giving up on %s after %d attempts",
                job.webhook_id,
                job.delivery_id,
                job.attempt,
            )


def _view(row: Any) -> Webhook:
    return Webhook(
        id=row["id"],
        url=row["url"],
        events=[WebhookEvent(e) for e in json.loads(row["events"])],
        active=bool(row["active"]),
        created_at=parse_time(row["created_at"]),
    )


def register(store: Store, body: WebhookIn) -> Webhook:
    events = json.dumps(sorted({e.value for e in body.events}))
    with store.write() as conn:
        cursor = conn.execute(
            "INSERT INTO webhooks (url, secret, events, created_at) VALUES (?, ?, ?, ?)",
            (body.url, body.secret, events, now_iso()),
        )
        row = conn.execute("SELECT * FROM webhooks WHERE id = ?", (cursor.lastrowid,)).fetchone()
    return _view(row)


def list_webhooks(store: Store) -> list[Webhook]:
    return [_view(r) for r in store.read().execute("SELECT * FROM webhooks ORDER BY id")]


def deactivate(store: Store, webhook_id: int) -> Webhook:
    with store.write() as conn:
        conn.execute("UPDATE webhooks SET active = 0 WHERE id = ?", (webhook_id,))
        row = conn.execute("SELECT * FROM webhooks WHERE id = ?", (webhook_id,)).fetchone()
    if row is None:
        raise WebhookNotFound(f"no webhook {webhook_id}")
    return _view(row)


def deliveries(store: Store, webhook_id: int | None = None) -> list[WebhookDelivery]:
    where, params = ("WHERE webhook_id = ?", (webhook_id,)) if webhook_id else ("", ())
    rows = store.read().execute(f"SELECT * FROM webhook_deliveries {where} ORDER BY id", params)
    return [
        WebhookDelivery(
            id=r["id"],
            webhook_id=r["webhook_id"],
            event=WebhookEvent(r["event"]),
            delivery_id=r["delivery_id"],
            attempt=r["attempt"],
            status_code=r["status_code"],
            error=r["error"],
            delivered=bool(r["delivered"]),
            created_at=parse_time(r["created_at"]),
        )
        for r in rows
    ]
