"""Load benchmark of the annotation server: N simulated annotators syncing batches.

Starts a real ``python -m crlhf serve`` on a temp database and a free loopback port, imports
a synthetic catalogue (``--samples`` samples of ``--lines`` judged lines, 5% honeypots), and
runs N concurrent annotators (async httpx). Each annotator loops: fetch ``--batch`` tasks,
think for about ``--interval`` seconds (uniform 0.5x..1.5x, first one staggered), submit
them in one batch; bounded by ``--duration`` seconds and ``--max-syncs`` syncs each.

Reported per N: submissions/s and votes/s acknowledged over the whole run, the steady
votes/s (acknowledged after every annotator's first think time, 1.5 x ``--interval``, until
the deadline: the ramp-up excluded), p50/p99 latency of every request (task fetches and
batch submits), the server process's CPU time per acknowledged submission (HTTP, routing
and the engine included; unlike latency it barely moves when other jobs share the cores),
errors, and the server's stored vote count beside the acknowledged count.
Then the raw SQLite insert rate of the same rows (same schema and pragmas, one transaction
per batch, no HTTP, no engine, no foreign-key checks) in the same run, as the physical limit
of this machine, and the ratio steady / raw.

The think time sets the offered load: N annotators offer about
N x batch x lines / interval votes/s (3,333 at N = 100 with the defaults), far faster than
people (tens of seconds per sample). At N = 500 the offer exceeds what one worker on two
shared cores serves, so that level shows the saturated behaviour: latency grows, nothing
is lost.

    python benchmarks/server_load.py                  # N = 10, 100, 500
    python benchmarks/server_load.py --quick          # a small smoke run
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parent.parent
ADMIN_TOKEN = "bench-admin-token-0123456789abcdef"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def synthetic_catalogue(
    n_samples: int, n_lines: int, seed: int
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    rng = random.Random(seed)
    problems = [
        {"id": f"bench-p{i}", "title": f"Problem {i}", "description": f"Implement f{i}."}
        for i in range(max(1, n_samples // 20))
    ]
    samples = []
    for i in range(n_samples):
        body = [f"    x{j} = x{j - 1} + {rng.randint(0, 9)}" for j in range(1, n_lines - 1)]
        code = "\n".join([f"def f{i}(x0):", *body, f"    return x{n_lines - 2}"]) + "\n"
        sample: dict[str, Any] = {
            "id": f"bench-s{i}",
            "problem_id": problems[i % len(problems)]["id"],
            "code": code,
            "meta": {"model": "bench", "round": 0, "temperature": 0.8, "seed": i},
        }
        if i % 20 == 0:
            sample["gold"] = {str(n): rng.choice((1, 1, 1, -1)) for n in range(1, n_lines + 1)}
        samples.append(sample)
    return problems, samples


@dataclass
class Server:
    db: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, log: Path) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("CRLHF_")}
        # The simulated annotators vote at random, so the quality policy would pause them;
        # it still runs after every submission (its cost is measured), it just never fires.
        env.update(
            CRLHF_ADMIN_TOKEN=ADMIN_TOKEN,
            CRLHF_SEED="false",
            CRLHF_MAX_ANNOTATORS_PER_SAMPLE="5",
            CRLHF_PAUSE_MIN_GOLD_LINES=str(10**9),
        )
        command = [sys.executable, "-m", "crlhf", "serve", "--db", str(self.db)]
        with log.open("ab") as out:
            self.process = subprocess.Popen(
                [*command, "--port", str(self.port)],
                cwd=REPO,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/v1/health", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.1)
        raise RuntimeError(f"server did not start:\n{log.read_text()[-3000:]}")

    def cpu_seconds(self) -> float:
        """User + system CPU time of the server process so far (Linux ``/proc``).

        Unlike latency, CPU per request barely moves when other jobs share the cores.
        """
        assert self.process is not None
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        if self.process is not None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=30)


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)
    submissions: int = 0
    votes: int = 0
    errors: list[str] = field(default_factory=list)
    rows: list[list[tuple[str, int, str, list[tuple[int, int]]]]] = field(default_factory=list)
    """Per acknowledged batch: (submission_id, annotator, sample_id, [(line, label)])."""
    acks: list[tuple[float, int]] = field(default_factory=list)
    """(monotonic time, votes) of every acknowledged batch, for the steady-state rate."""


async def annotator(
    client: httpx.AsyncClient,
    token: str,
    index: int,
    args: argparse.Namespace,
    deadline: float,
    tally: Tally,
) -> None:
    rng = random.Random(index)
    headers = {"Authorization": f"Bearer {token}"}
    await asyncio.sleep(rng.uniform(0, args.interval))
    for _ in range(args.max_syncs):
        if time.monotonic() >= deadline:
            return
        start = time.perf_counter()
        try:
            response = await client.get(f"/v1/tasks/next?count={args.batch}", headers=headers)
        except httpx.TransportError as exc:
            tally.errors.append(f"tasks: {exc!r}")
            continue
        tally.latencies.append(time.perf_counter() - start)
        if response.status_code != 200:
            tally.errors.append(f"tasks {response.status_code}: {response.text[:200]}")
            return
        tasks = response.json()
        if not tasks:
            return
        await asyncio.sleep(rng.uniform(0.5, 1.5) * args.interval)
        batch = []
        for task in tasks:
            labels = [
                {"line": line["number"], "label": -1 if rng.random() < 0.2 else 1}
                for line in task["lines"]
                if line["judged"]
            ]
            batch.append(
                {
                    "submission_id": str(uuid.uuid4()),
                    "sample_id": task["sample_id"],
                    "labels": labels,
                }
            )
        start = time.perf_counter()
        try:
            response = await client.post(
                "/v1/submissions/batch", json={"submissions": batch}, headers=headers
            )
        except httpx.TransportError as exc:  # unacknowledged: the offline queue would retry
            tally.errors.append(f"batch: {exc!r}")
            continue
        tally.latencies.append(time.perf_counter() - start)
        if response.status_code != 200:
            tally.errors.append(f"batch {response.status_code}: {response.text[:200]}")
            continue
        fresh = [r for r in response.json()["receipts"] if not r["replayed"]]
        tally.submissions += len(fresh)
        votes = sum(len(s["labels"]) for s in batch)
        tally.votes += votes
        tally.acks.append((time.monotonic(), votes))
        tally.rows.append(
            [
                (
                    s["submission_id"],
                    index,
                    s["sample_id"],
                    [(x["line"], x["label"]) for x in s["labels"]],
                )
                for s in batch
            ]
        )


def raw_insert_rate(
    rows: list[list[tuple[str, int, str, list[tuple[int, int]]]]], db: Path
) -> float:
    """Votes/s for inserting the same submissions and votes straight into SQLite."""
    from crlhf_server import migrations
    from crlhf_server.db import Store

    store = Store(db)
    migrations.apply(store)
    with store.write_lock() as conn:
        conn.execute("PRAGMA foreign_keys=OFF")  # no annotator/sample rows here: the bare inserts
    votes = 0
    start = time.perf_counter()
    for batch in rows:
        with store.write() as writer:
            for submission_id, annotator_id, sample_id, labels in batch:
                cursor = writer.execute(
                    "INSERT INTO submissions (submission_id, annotator_id, sample_id, revision, "
                    "is_current, content_hash, created_at) VALUES (?, ?, ?, 1, 1, '', 'now')",
                    (submission_id, annotator_id, sample_id),
                )
                writer.executemany(
                    "INSERT INTO votes (submission, line, label) VALUES (?, ?, ?)",
                    [(cursor.lastrowid, line, label) for line, label in labels],
                )
                votes += len(labels)
    elapsed = time.perf_counter() - start
    store.close()
    return votes / elapsed if elapsed else float("nan")


def percentile(values: list[float], q: int) -> float:
    if not values:
        return float("nan")
    return (
        statistics.quantiles(values, n=100, method="inclusive")[q - 1]
        if len(values) > 1
        else values[0]
    )


async def run_level(n: int, args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    server = Server(workdir / f"load-{n}.db")
    server.start(workdir / f"load-{n}.log")
    try:
        admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
        problems, samples = synthetic_catalogue(args.samples, args.lines, seed=n)
        async with httpx.AsyncClient(base_url=server.url, timeout=60) as setup:
            (
                await setup.post("/v1/admin/problems", json=problems, headers=admin)
            ).raise_for_status()
            for i in range(0, len(samples), 500):
                chunk = samples[i : i + 500]
                (
                    await setup.post("/v1/admin/samples", json=chunk, headers=admin)
                ).raise_for_status()
            tokens = []
            for i in range(n):
                created = await setup.post(
                    "/v1/admin/annotators", json={"name": f"bench-{i}"}, headers=admin
                )
                tokens.append(created.json()["token"])
        tally = Tally()
        cpu_before = server.cpu_seconds()
        client_before = time.process_time()
        limits = httpx.Limits(max_connections=n + 10, max_keepalive_connections=n + 10)
        async with httpx.AsyncClient(base_url=server.url, timeout=60, limits=limits) as client:
            start = time.monotonic()
            deadline = start + args.duration
            await asyncio.gather(
                *(annotator(client, t, i, args, deadline, tally) for i, t in enumerate(tokens))
            )
            elapsed = time.monotonic() - start
        cpu = server.cpu_seconds() - cpu_before
        client_cpu = time.process_time() - client_before
        # Steady state: after every annotator's first think time, until the deadline.
        window = (start + 1.5 * args.interval, deadline)
        steady = sum(v for t, v in tally.acks if window[0] <= t <= window[1])
        steady_rate = steady / (window[1] - window[0])
        with sqlite3.connect(server.db) as conn:
            stored = conn.execute("SELECT COUNT(*) FROM votes").fetchone()[0]
    finally:
        server.stop()
    raw = raw_insert_rate(tally.rows, workdir / f"raw-{n}.db")
    votes_s = tally.votes / elapsed
    return {
        "N": n,
        "seconds": elapsed,
        "submissions/s": tally.submissions / elapsed,
        "votes/s": votes_s,
        "steady votes/s": steady_rate,
        "p50 ms": 1000 * percentile(tally.latencies, 50),
        "p99 ms": 1000 * percentile(tally.latencies, 99),
        "requests": len(tally.latencies),
        "cpu ms/sub": 1000 * cpu / max(tally.submissions, 1),
        "server cpu %": 100 * cpu / elapsed,
        "client cpu %": 100 * client_cpu / elapsed,
        "errors": len(tally.errors),
        "acked votes": tally.votes,
        "stored votes": stored,
        "raw votes/s": raw,
        "ratio": steady_rate / raw,
        "first error": tally.errors[0] if tally.errors else "",
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, nargs="+", default=[10, 100, 500])
    parser.add_argument("--duration", type=float, default=30.0, help="seconds per level")
    parser.add_argument("--max-syncs", type=int, default=1000, help="syncs per annotator")
    parser.add_argument("--batch", type=int, default=5, help="submissions per sync")
    parser.add_argument("--interval", type=float, default=3.0, help="mean think time, seconds")
    parser.add_argument("--lines", type=int, default=20, help="judged lines per sample")
    parser.add_argument("--samples", type=int, default=20_000)
    parser.add_argument("--quick", action="store_true", help="smoke run: N=5, 3 s, 300 samples")
    args = parser.parse_args()
    if args.quick:
        args.n, args.duration, args.samples, args.interval = [5], 4.0, 300, 0.2
    header = (
        f"{'N':>4} {'sub/s':>8} {'votes/s':>9} {'steady':>9} {'p50 ms':>7} {'p99 ms':>7} "
        f"{'reqs':>6} {'cpu ms/sub':>10} {'errors':>6} {'acked':>8} {'stored':>8} "
        f"{'raw votes/s':>12} {'ratio':>6}"
    )
    print(
        f"server_load: batch={args.batch} x {args.lines} lines, think ~{args.interval}s, "
        f"{args.duration:.0f}s per level, {args.samples} samples, loopback, 1 uvicorn worker"
    )
    print(header)
    ok = True
    with tempfile.TemporaryDirectory(prefix="crlhf-load-") as tmp:
        for n in args.n:
            r = asyncio.run(run_level(n, args, Path(tmp)))
            print(
                f"{r['N']:>4} {r['submissions/s']:>8.1f} {r['votes/s']:>9.0f} "
                f"{r['steady votes/s']:>9.0f} {r['p50 ms']:>7.1f} "
                f"{r['p99 ms']:>7.1f} {r['requests']:>6} {r['cpu ms/sub']:>10.2f} {r['errors']:>6} "
                f"{r['acked votes']:>8} "
                f"{r['stored votes']:>8} {r['raw votes/s']:>12.0f} {r['ratio']:>6.3f}",
                flush=True,
            )
            print(
                f"     CPU over the run: server {r['server cpu %']:.0f}% of a core, "
                f"load generator {r['client cpu %']:.0f}% (both on the same cores)"
            )
            if r["first error"]:
                print(f"     first error: {r['first error']}")
            ok = ok and r["errors"] == 0 and r["acked votes"] == r["stored votes"]
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
