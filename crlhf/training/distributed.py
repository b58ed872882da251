"""Data parallelism across the processes of ``accelerate launch``: who computes which rows.

Under ``accelerate launch`` (or torchrun) with N > 1 processes, every rank holds the whole
PPO batch (token ids are small) and the same policy, and computes the forward and
backward passes of its own slice of every batch and of every minibatch. Each PPO loss is
a token mean over a minibatch, so a rank divides its token sum by the minibatch's token
count **over all ranks**, and the gradients are **summed** across ranks: the result is the
gradient of the single-process run, up to float round-off, whatever the rows' lengths.
(Averaging per-rank means, as DDP does, would weight a rank with few tokens as much as one
with many, and would not reproduce the single-process adapter.)

Why not DDP: the same module also runs the no-grad old-policy pass, the reference pass
inside peft's ``disable_adapter()`` and a value-only warm-up, and a rank may have no row
at all in a small minibatch. An explicit all-reduce of the trainable gradients (LoRA
matrices and the value head, a few MB) after ``backward()`` is simpler and correct in all
of these cases. Data order, minibatch order and initial weights are seeded identically
on every rank, and rank 0's trainable weights are broadcast once at the start, so the
ranks apply identical updates and stay identical.

:class:`SingleProcess` is the default and does nothing: the single-process path never
imports accelerate nor initialises ``torch.distributed``.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

import torch
from torch import nn

from crlhf.errors import CrlhfError, InvalidInput, TrainingFailed, error_class_for

logger = logging.getLogger(__name__)

T = TypeVar("T")


class DataParallel(Protocol):
    """The few collective operations a PPO round needs; identity in a single process."""

    @property
    def rank(self) -> int: ...

    @property
    def world_size(self) -> int: ...

    @property
    def local_world_size(self) -> int:
        """Processes on this host (they share its CPU cores)."""
        ...

    def device(self, requested: str | None) -> torch.device:
        """This rank's torch device for ``PPOConfig.device``."""
        ...

    def shard(self, rows: torch.Tensor) -> torch.Tensor:
        """This rank's part of ``rows`` (indices into a batch)."""
        ...

    def gather(self, local: torch.Tensor, rows: torch.Tensor, total: int) -> torch.Tensor:
        """The (total, ...) tensor whose rows ``rows`` hold each rank's ``local``."""
        ...

    def sum_floats(self, values: Sequence[float]) -> list[float]:
        """Element-wise sums over the ranks."""
        ...

    def sync_gradients(self, parameters: Sequence[nn.Parameter]) -> None:
        """Replace every rank's gradients by their sum over the ranks."""
        ...

    def broadcast_parameters(self, parameters: Sequence[nn.Parameter]) -> None:
        """Copy rank 0's values of ``parameters`` to every rank."""
        ...

    def on_main(self, work: Callable[[], T]) -> T:
        """Run ``work`` on rank 0 only; every rank gets its result or raises its error."""
        ...

    def agree(self, work: Callable[[], T]) -> T:
        """Run ``work`` on every rank; if it fails on any, every rank raises that error."""
        ...


def pick_device(requested: str | None) -> torch.device:
    """``requested``, else CUDA when present, else the CPU."""
    if requested:
        return torch.device(requested)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


class SingleProcess:
    """One process: every operation is the identity, so PPO runs exactly as it always did."""

    rank = 0
    world_size = 1
    local_world_size = 1

    def device(self, requested: str | None) -> torch.device:
        return pick_device(requested)

    def shard(self, rows: torch.Tensor) -> torch.Tensor:
        return rows

    def gather(self, local: torch.Tensor, rows: torch.Tensor, total: int) -> torch.Tensor:
        return local

    def sum_floats(self, values: Sequence[float]) -> list[float]:
        return list(values)

    def sync_gradients(self, parameters: Sequence[nn.Parameter]) -> None:
        return None

    def broadcast_parameters(self, parameters: Sequence[nn.Parameter]) -> None:
        return None

    def on_main(self, work: Callable[[], T]) -> T:
        return work()

    def agree(self, work: Callable[[], T]) -> T:
        return work()


# ------------------------------------------------------------------ pure helpers


def shard_rows(rows: torch.Tensor, rank: int, world_size: int) -> torch.Tensor:
    """Rank ``rank``'s contiguous part of ``rows``: sizes differ by at most one, and a
    rank gets nothing when there are fewer rows than ranks."""
    return torch.tensor_split(rows, world_size)[rank]


def scatter_rows(local: torch.Tensor, rows: torch.Tensor, total: int) -> torch.Tensor:
    """A zero (total, ...) tensor with ``local`` in rows ``rows``: summed over the ranks
    (x + 0 = x exactly), it is the whole batch's tensor."""
    full = local.new_zeros((total, *local.shape[1:]))
    full[rows.to(local.device)] = local
    return full


def portable(exc: BaseException) -> tuple[str, str, str | None]:
    """An error as (code, message, field), to rebuild on another rank or process."""
    if isinstance(exc, CrlhfError):
        return exc.code, exc.message, exc.field
    return TrainingFailed.code, f"{type(exc).__name__}: {exc}", None


def rebuild(code: str, message: str, field: str | None) -> CrlhfError:
    """The typed error :func:`portable` described."""
    return error_class_for(code)(message, field=field)


# ------------------------------------------------------------- the real thing


@dataclass(frozen=True)
class TorchDataParallel:
    """Collectives on the process group that ``accelerate`` initialised."""

    rank: int
    world_size: int
    local_rank: int
    local_world_size: int
    default_device: torch.device
    backend: str

    @property
    def _collective_device(self) -> torch.device:
        """Where tensors of the object and float collectives live (NCCL needs CUDA)."""
        return self.default_device if self.backend == "nccl" else torch.device("cpu")

    def device(self, requested: str | None) -> torch.device:
        """``requested`` with the local rank as the index of a bare ``cuda``; else the
        device accelerate assigned to this rank."""
        if not requested:
            device = self.default_device
        else:
            device = torch.device(requested)
            if device.type == "cuda" and device.index is None:
                device = torch.device("cuda", self.local_rank)
            elif device.type == "cuda" and self.local_world_size > 1:
                logger.warning("every rank on this host trains on %s", device)
        if self.backend == "nccl" and device.type != "cuda":
            raise InvalidInput(
                f"device {device} under a multi-GPU launch (NCCL); hide the GPUs "
                "(CUDA_VISIBLE_DEVICES=) to train on several CPU processes",
                field="device",
            )
        return device

    def shard(self, rows: torch.Tensor) -> torch.Tensor:
        return shard_rows(rows, self.rank, self.world_size)

    def gather(self, local: torch.Tensor, rows: torch.Tensor, total: int) -> torch.Tensor:
        import torch.distributed as dist

        full = scatter_rows(local, rows, total)
        dist.all_reduce(full)
        return full

    def sum_floats(self, values: Sequence[float]) -> list[float]:
        import torch.distributed as dist

        tensor = torch.tensor(list(values), dtype=torch.float64, device=self._collective_device)
        dist.all_reduce(tensor)
        return [float(v) for v in tensor.tolist()]

    def sync_gradients(self, parameters: Sequence[nn.Parameter]) -> None:
        """Sum the gradients over the ranks, one flat all-reduce per dtype.

        A rank with no row in a minibatch has no gradients; it contributes zeros. A
        parameter that no rank has a gradient for keeps ``grad = None``, as it would in
        one process (AdamW then leaves it alone, weight decay included).
        """
        import torch.distributed as dist

        groups: dict[torch.dtype, list[nn.Parameter]] = {}
        for parameter in parameters:
            groups.setdefault(parameter.dtype, []).append(parameter)
        for dtype, group in groups.items():
            flags = torch.tensor(
                [float(p.grad is not None) for p in group], dtype=dtype, device=group[0].device
            )
            pieces = [
                (p.grad if p.grad is not None else torch.zeros_like(p)).reshape(-1) for p in group
            ]
            flat = torch.cat([*pieces, flags])
            dist.all_reduce(flat)
            offset = 0
            for p in group:
                size = p.numel()
                p.grad = flat[offset : offset + size].view_as(p).clone()
                offset += size
            for p, seen in zip(group, flat[offset:].tolist(), strict=True):
                if seen == 0:
                    p.grad = None

    def broadcast_parameters(self, parameters: Sequence[nn.Parameter]) -> None:
        import torch.distributed as dist

        with torch.no_grad():
            for parameter in parameters:
                dist.broadcast(parameter.data, src=0)

    def _broadcast(self, payload: object) -> Any:
        import torch.distributed as dist

        box = [payload]
        dist.broadcast_object_list(box, src=0, device=self._collective_device)
        return box[0]

    def on_main(self, work: Callable[[], T]) -> T:
        outcome: tuple[bool, Any] = (True, None)
        failure: Exception | None = None
        if self.rank == 0:
            try:
                outcome = (True, work())
            except Exception as exc:  # every rank must hear of it, or they would wait forever
                failure = exc
                outcome = (False, portable(exc))
        ok, value = self._broadcast(outcome)
        if failure is not None:
            raise failure
        if not ok:
            raise rebuild(*value)
        return value  # type: ignore[no-any-return]

    def agree(self, work: Callable[[], T]) -> T:
        import torch.distributed as dist

        failure: Exception | None = None
        result: T | None = None
        try:
            result = work()
        except Exception as exc:
            failure = exc
        outcomes: list[Any] = [None] * self.world_size
        mine = None if failure is None else portable(failure)
        dist.all_gather_object(outcomes, mine)
        if failure is not None:
            raise failure
        for rank, outcome in enumerate(outcomes):
            if outcome is not None:
                code, message, field = outcome
                raise rebuild(code, f"rank {rank}: {message}", field)
        return result  # type: ignore[return-value]


# ---------------------------------------------------------------- start-up


def launched_world_size() -> int:
    """Processes the launcher started (``WORLD_SIZE``, set by torchrun and accelerate)."""
    try:
        return int(os.environ.get("WORLD_SIZE", "1"))
    except ValueError:
        return 1


def from_launcher() -> TorchDataParallel | None:
    """The process group of ``accelerate launch``, initialised through accelerate's
    ``PartialState``; None in a single process (then nothing is imported or started).

    CPU-only hosts get the gloo backend (accelerate's ``MULTI_CPU``), GPU hosts NCCL with
    one GPU per local rank.
    """
    if launched_world_size() <= 1:
        return None
    import torch.distributed as dist
    from accelerate import PartialState

    use_cpu = os.environ.get("ACCELERATE_USE_CPU", "").lower() in {"1", "true", "yes"}
    state = PartialState(cpu=use_cpu or not torch.cuda.is_available())
    if not dist.is_initialized() or state.num_processes <= 1:
        raise TrainingFailed(
            f"WORLD_SIZE is {launched_world_size()} but accelerate set up no process group"
        )
    for variable, meaning in (
        ("ACCELERATE_MIXED_PRECISION", "mixed precision"),
        ("ACCELERATE_GRADIENT_ACCUMULATION_STEPS", "gradient accumulation"),
    ):
        if os.environ.get(variable, "no") not in {"no", "1", ""}:
            logger.warning("%s is not supported by crlhf's PPO and is ignored", meaning)
    device = torch.device(state.device)
    if device.type == "cpu":
        device = torch.device("cpu")
    return TorchDataParallel(
        rank=state.process_index,
        world_size=state.num_processes,
        local_rank=state.local_process_index,
        local_world_size=int(os.environ.get("LOCAL_WORLD_SIZE", state.num_processes)),
        default_device=device,
        backend=str(dist.get_backend()),
    )


def shut_down() -> None:
    """Tear down the process group (a clean exit, without torch's warning)."""
    import torch.distributed as dist

    if dist.is_initialized():
        dist.destroy_process_group()
