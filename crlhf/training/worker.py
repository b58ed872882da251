"""``crlhf worker``: claim requested rounds from the server and run them, one at a time.

A round, stage by stage (each reported through the heartbeat, :mod:`.heartbeat`):

1. ``loading``: the PPO settings (the round's params over the config file, as
   ``crlhf train-round`` layers them), then the data by the rule ``train-round
   --from-server`` shares (:func:`~crlhf.training.server_round.policy_data`): the current
   adapter's directory under ``out_dir`` is the parent, and only triples it sampled are
   kept. Hand-written samples (no token ids) are skipped and counted in the metrics.
2. ``training`` / ``saving``: :func:`~crlhf.training.round.run_round`, step by step; with
   ``--num-processes``/``--accelerate-config``, in a child ``accelerate launch`` process
   group instead (:mod:`~crlhf.training.child_round`): data-parallel, on several GPUs.
3. ``generating``: the next samples for annotators, drawn with the new adapter
   (``meta.adapter_version`` = the new version, ``meta.round`` = the round id).
4. ``benchmarking``: each benchmark suite, sampled with the new adapter and run in the
   sandbox (:func:`~crlhf.evaluation.bench.run_bench`).
5. ``pushing``: the new samples and the benchmark results go to the server only now,
   when nothing else can fail, so a failed round leaves no samples of a version that
   does not exist; then the round ends ``succeeded`` with the version and the metrics.

Anything that goes wrong ends the round ``failed`` with "stage X: ErrorClass: message"
and removes the new version's directory, so the previous adapter stays current; the
worker then polls on. A cancel (seen in a heartbeat's answer) stops the round at the
next step boundary the same way, without a new version. SIGTERM or Ctrl-C fails the
running round ("worker stopped: SIGTERM") and ends the worker. A worker killed outright
(SIGKILL, power loss) stops heart-beating; the server fails the round after its lease.
"""

from __future__ import annotations

import asyncio
import logging
import re
import shutil
import signal
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from crlhf.client import CrlhfClient
from crlhf.client_config import ClientConfig
from crlhf.errors import (
    CrlhfError,
    InvalidTransition,
    RoundCancelled,
    ServerUnreachable,
)
from crlhf.evaluation.bench import Completion
from crlhf.evaluation.problems import BenchProblem
from crlhf.evaluation.suites import load_problems, suite_name
from crlhf.schemas import (
    BenchmarkResultIn,
    ExportRow,
    RoundStatus,
    RoundTransition,
    SampleIn,
    TrainingRound,
)
from crlhf.training.config import PPOConfig
from crlhf.training.heartbeat import Heartbeat
from crlhf.training.server_round import Metrics, policy_data, round_metrics
from crlhf.training.signals import raise_on_signals

if TYPE_CHECKING:
    from crlhf.generation.generate import Generator
    from crlhf.training.child_round import Launch
    from crlhf.training.round import RoundResult, StepCallback

logger = logging.getLogger(__name__)

T = TypeVar("T")
ConfigFactory = Callable[[Mapping[str, Any]], PPOConfig]
"""The round's params in, its PPO settings out (``crlhf.training.round_options.ppo_config``)."""


class WorkerStopped(BaseException):
    """SIGTERM or SIGINT reached the worker. A BaseException, like KeyboardInterrupt, so
    that no ``except Exception`` on the way swallows it."""

    def __init__(self, signum: int) -> None:
        self.signum = signum
        super().__init__(f"worker stopped: {signal.Signals(signum).name}")


@dataclass(frozen=True)
class Sampling:
    """How the new adapter samples, for the next round's data and for the benchmarks."""

    temperature: float = 0.8
    max_new_tokens: int = 128
    batch_size: int = 16
    prompt_style: str = "auto"
    """completion, chat or auto (chat when the base model has a chat template)."""


@dataclass(frozen=True)
class NextSamples:
    suite: str
    """A built-in suite, or ``server`` (the server's own problems)."""
    n: int = 10
    """Samples per problem."""
    limit: int | None = None
    """Only the suite's first ``limit`` problems."""
    problems_file: Path | None = None
    """A team's own problems (JSONL) instead of ``suite``."""


@dataclass(frozen=True)
class Benchmarks:
    suites: tuple[str, ...]
    runs_dir: Path
    problem_files: tuple[Path, ...] = ()
    """Own problem files (JSONL), benchmarked after the suites."""
    """Benchmark runs (:class:`~crlhf.evaluation.runstore.RunStore`) go here."""
    n: int = 10
    ks: tuple[int, ...] = (1,)
    limit: int | None = None
    workers: int | None = None
    """Sandbox runners (None: the executor's default)."""


@dataclass(frozen=True)
class WorkerOptions:
    worker_id: str
    base_model: str
    out_dir: Path
    """Adapter versions root: ``out_dir / version`` per succeeded round."""
    lease_s: float = 60.0
    poll_s: float = 5.0
    once: bool = False
    """Run at most one round, then exit."""
    exit_when_idle: bool = False
    """Exit when no round is waiting instead of polling."""
    estimator: str | None = None
    """Estimator of the server's refit before the export (None: the server's)."""
    sampling: Sampling = field(default_factory=Sampling)
    next_samples: NextSamples | None = None
    benchmarks: Benchmarks | None = None
    progress: bool = True
    launch: Launch | None = None
    """Train in a child ``accelerate launch`` process group (None: in this process)."""


def run_id(suite: str, version: str, round_id: int, n: int) -> str:
    """A benchmark run per round (a failed round's version name may be used again)."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", f"{suite}-{version}-round{round_id}-n{n}")


class Worker:
    """Claims requested rounds and runs them; :meth:`run` is the whole process."""

    def __init__(
        self, client_config: ClientConfig, options: WorkerOptions, make_config: ConfigFactory
    ) -> None:
        self.client_config = client_config
        self.options = options
        self.make_config = make_config

    def run(self) -> int:
        """Poll and run rounds; 0 when done (``--once``, ``--exit-when-idle``), 1 when the
        single ``--once`` round did not succeed or cancel. Raises :class:`WorkerStopped`."""
        with raise_on_signals(WorkerStopped):
            logger.info("worker %s polling %s", self.options.worker_id, self.client_config.server)
            while True:
                claimed = self._claim()
                if claimed is None:
                    if self.options.exit_when_idle:
                        logger.info("no round is waiting; exiting")
                        return 0
                    time.sleep(self.options.poll_s)
                    continue
                status = self.process(claimed)
                if self.options.once:
                    return 0 if status in (RoundStatus.SUCCEEDED, RoundStatus.CANCELLED) else 1

    def process(self, claimed: TrainingRound) -> RoundStatus:
        """Run one claimed round to its final state and return that state."""
        logger.info("claimed round %d (params %s)", claimed.id, claimed.params or "{}")
        interval = self.options.lease_s / 4
        kept: list[Path] = []  # the new version's directory, once written
        with Heartbeat(self.client_config, claimed.id, self.options.worker_id, interval) as beat:
            try:
                return self._execute(claimed, beat, kept)
            except RoundCancelled as exc:
                beat.stop()
                _discard(kept)
                final = self._status(claimed.id)
                logger.warning("round %d ended %s: %s", claimed.id, final.value, exc)
                return final
            except WorkerStopped as exc:
                beat.stop()
                _discard(kept)
                self._fail(claimed.id, str(exc))
                raise
            except Exception as exc:
                beat.stop()
                _discard(kept)
                message = f"stage {beat.progress.stage}: {type(exc).__name__}: {exc}"
                logger.error("round %d failed: %s", claimed.id, message)
                self._fail(claimed.id, message)
                return RoundStatus.FAILED

    # ---------------------------------------------------------------- stages

    def _execute(self, claimed: TrainingRound, beat: Heartbeat, kept: list[Path]) -> RoundStatus:
        from crlhf.training.adapters import next_version

        options = self.options
        beat.report("loading", detail="current adapter, settings and the server's export")
        config = self.make_config(dict(claimed.params))
        data = self._api(
            lambda c: policy_data(
                c, options.out_dir, min_votes=config.min_votes, estimator=options.estimator
            )
        )
        version = next_version(options.out_dir)
        beat.check()

        def on_step(done: int, total: int) -> None:
            beat.check()
            if done < total:
                beat.report("training", done, total, f"PPO step {done + 1} of {total}")
            else:
                beat.report("saving", total, total, f"adapter version {version}")

        result = self._train(
            data.rows,
            version=version,
            config=config,
            parent=data.parent,
            round_id=claimed.id,
            beat=beat,
            on_step=on_step,
        )
        kept.append(result.directory)
        metrics: Metrics = round_metrics(result)
        problems: list[BenchProblem] = []
        samples: list[SampleIn] = []
        results: list[BenchmarkResultIn] = []
        if options.next_samples is not None or options.benchmarks is not None:
            beat.check()
            beat.report("generating", detail=f"loading {version} to sample with")
            generator = self._generator(result, claimed.id, config)
            if options.next_samples is not None:
                problems, samples = self._next_samples(generator, options.next_samples, beat)
            if options.benchmarks is not None:
                spec = options.benchmarks
                sources: list[tuple[str, Path | None]] = [(suite, None) for suite in spec.suites]
                sources += [("own", path) for path in spec.problem_files]
                measured = [
                    self._benchmark(
                        suite, path, generator=generator, spec=spec, beat=beat, result=result
                    )
                    for suite, path in sources
                ]
                results = [found for found in measured if found is not None]
        beat.check()
        beat.report("pushing", detail=f"{len(samples)} samples, {len(results)} benchmark results")
        message = f"{version} saved to {result.directory}"
        if options.next_samples is not None:
            created = self._push(problems, samples)
            metrics.update(samples_generated=len(samples), samples_pushed=created)
            source = suite_name(options.next_samples.suite, options.next_samples.problems_file)
            message += f"; {created} new samples from {source}"
        for posted in results:
            self._post(posted)
            for k, value in sorted(posted.pass_at_k.items()):
                metrics[f"bench/{posted.suite}/pass@{k}"] = value
                message += f"; {posted.suite} pass@{k} {value:.3f}"
        beat.check()
        beat.stop()  # no heartbeat may land after the final transition
        self._finish(
            claimed.id,
            RoundTransition(
                status=RoundStatus.SUCCEEDED,
                adapter_version=version,
                metrics=metrics,
                message=message,
            ),
        )
        logger.info("round %d succeeded: %s", claimed.id, message)
        return RoundStatus.SUCCEEDED

    def _train(
        self,
        rows: Sequence[ExportRow],
        *,
        version: str,
        config: PPOConfig,
        parent: Path | None,
        round_id: int,
        beat: Heartbeat,
        on_step: StepCallback,
    ) -> RoundResult:
        """The training stage: in this process, or in a child process group."""
        from crlhf.training.round import run_round

        options = self.options
        if options.launch is None:
            return run_round(
                rows,
                base_model=options.base_model,
                out_root=options.out_dir,
                version=version,
                config=config,
                parent=parent,
                round_id=round_id,
                progress=options.progress,
                on_step=on_step,
            )
        from crlhf.training.child_round import train_in_child

        beat.report("training", detail="starting accelerate launch")
        return train_in_child(
            options.launch,
            rows,
            base_model=options.base_model,
            out_root=options.out_dir,
            version=version,
            config=config,
            parent=parent,
            round_id=round_id,
            on_step=on_step,
            check=beat.check,
        )

    def _generator(self, result: RoundResult, round_id: int, config: PPOConfig) -> Generator:
        from crlhf.generation.generate import GenerationSettings, Generator, load_model
        from crlhf.training.adapters import ADAPTER_DIR
        from crlhf.training.distributed import pick_device

        sampling = self.options.sampling
        model, tokenizer = load_model(
            self.options.base_model,
            str(result.directory / ADAPTER_DIR),
            pick_device(config.device),
            config.dtype,  # the next round's drift check needs the training dtype
        )
        settings = GenerationSettings(
            temperature=sampling.temperature,
            max_new_tokens=sampling.max_new_tokens,
            batch_size=sampling.batch_size,
            seed=config.seed,
            prompt_style=sampling.prompt_style,
        )
        return Generator(
            model,
            tokenizer,
            settings,
            model_name=self.options.base_model,
            adapter_version=result.version,
            round_number=round_id,
            progress=self.options.progress,
        )

    def _next_samples(
        self, generator: Generator, spec: NextSamples, beat: Heartbeat
    ) -> tuple[list[BenchProblem], list[SampleIn]]:
        from crlhf.generation.samples import collect

        problems = load_problems(
            spec.suite, problems_file=spec.problems_file, server=self.client_config
        )[: spec.limit]
        tag = f"r{generator.round_number}-s{generator.settings.seed}"
        sampled = generator(problems, spec.n)
        name = suite_name(spec.suite, spec.problems_file)
        tracked = _tracked(sampled, len(problems), beat, "generating", name)
        collected = collect(tracked, tag)
        logger.info("%s", collected.describe())
        return collected.problems, collected.samples

    def _benchmark(
        self,
        suite: str,
        problems_file: Path | None,
        *,
        generator: Generator,
        spec: Benchmarks,
        beat: Heartbeat,
        result: RoundResult,
    ) -> BenchmarkResultIn | None:
        """The suite's result to post (None: none of its problems could be executed)."""
        from crlhf.evaluation.bench import BenchConfig, run_bench
        from crlhf.evaluation.post import result_from_summary
        from crlhf.evaluation.runstore import RunStore
        from crlhf.sandbox import Executor

        problems = load_problems(suite, problems_file=problems_file, server=self.client_config)
        suite = suite_name(suite, problems_file)
        settings = generator.settings
        config = BenchConfig(
            suite=suite,
            n=spec.n,
            ks=spec.ks,
            model=self.options.base_model,
            adapter=str(result.directory),
            round=generator.round_number,
            temperature=settings.temperature,
            max_new_tokens=settings.max_new_tokens,
            seed=settings.seed,
            limit=spec.limit,
            prompt_style=generator.style,
        )

        def completer(
            problems: Sequence[BenchProblem], n: int
        ) -> Iterator[tuple[BenchProblem, list[Completion]]]:
            yield from _tracked(generator(problems, n), len(problems), beat, "benchmarking", suite)
            beat.report("benchmarking", detail=f"{suite}: running the samples in the sandbox")

        beat.report("benchmarking", detail=suite)
        store = RunStore(spec.runs_dir, run_id(suite, result.version, config.round or 0, spec.n))
        summary = run_bench(
            problems,
            completer,
            Executor(workers=spec.workers),
            store,
            config,
            progress=self.options.progress,
        )
        if not summary["n_problems"]:
            logger.warning("%s: no problem has Python tests, so there is no pass@k", suite)
            return None
        return result_from_summary(summary, config, result.version)

    # ----------------------------------------------------------- the server

    def _api(self, call: Callable[[CrlhfClient], Awaitable[T]]) -> T:
        """One call with a fresh client and event loop: the main thread is synchronous
        (training), and a loop kept across a signal's exception is not worth trusting."""

        async def go() -> T:
            async with CrlhfClient.from_config(self.client_config) as client:
                return await call(client)

        return asyncio.run(go())

    def _claim(self) -> TrainingRound | None:
        options = self.options
        try:
            return self._api(lambda c: c.claim_round(options.worker_id, options.lease_s))
        except ServerUnreachable as exc:
            if options.exit_when_idle:
                raise
            logger.warning("%s; trying again in %g s", exc, options.poll_s)
            return None

    def _push(self, problems: Sequence[BenchProblem], samples: Sequence[SampleIn]) -> int:
        from crlhf.generation.samples import push

        created, _ = asyncio.run(push(self.client_config, problems, samples))
        return created

    def _post(self, result: BenchmarkResultIn) -> None:
        from crlhf.evaluation.post import post_result

        asyncio.run(post_result(self.client_config, result))

    def _finish(self, round_id: int, transition: RoundTransition) -> None:
        try:
            self._api(lambda c: c.transition_round(round_id, transition))
        except InvalidTransition as exc:  # cancelled, or failed by the lease, meanwhile
            raise RoundCancelled(str(exc)) from exc
        except ServerUnreachable:
            # The server may have stored the move and lost only the answer: then the
            # version is current and must be kept.
            found = self._api(lambda c: c.get_round(round_id))
            if (found.status, found.adapter_version) != (
                RoundStatus.SUCCEEDED,
                transition.adapter_version,
            ):
                raise

    def _fail(self, round_id: int, message: str) -> None:
        transition = RoundTransition(status=RoundStatus.FAILED, message=message[:10_000])
        try:
            self._api(lambda c: c.transition_round(round_id, transition))
        except CrlhfError as exc:
            logger.error(
                "could not mark round %d failed (%s); the server fails it when its lease runs out",
                round_id,
                exc,
            )

    def _status(self, round_id: int) -> RoundStatus:
        try:
            return self._api(lambda c: c.get_round(round_id)).status
        except CrlhfError:
            return RoundStatus.FAILED


def _tracked(
    sampled: Iterator[tuple[BenchProblem, list[Completion]]],
    total: int,
    beat: Heartbeat,
    stage: str,
    suite: str,
) -> Iterator[tuple[BenchProblem, list[Completion]]]:
    """Problems as they are sampled, with progress per problem and a cancel check."""
    beat.report(stage, 0, total, f"{suite}: sampling")
    for done, item in enumerate(sampled, 1):
        beat.check()
        beat.report(stage, done, total, f"{suite}: sampling")
        yield item


def _discard(kept: Sequence[Path]) -> None:
    """Remove the version a failed or cancelled round wrote: the previous stays current."""
    for directory in kept:
        shutil.rmtree(directory, ignore_errors=True)
        logger.info("removed %s (the round did not succeed)", directory)
