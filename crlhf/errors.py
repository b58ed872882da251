"""One exception tree for every crlhf component.

The server maps each class to an HTTP status and an :class:`~crlhf.schemas.ErrorBody`
in a single exception handler; the HTTP client maps the body's ``code`` back to the
same class, so a caller catches ``SampleNotFound`` whether the failure happened
in-process or across the network.

The tree, with each class's HTTP status and wire code (:func:`exception_tree` prints it;
a test keeps this copy current)::

    CrlhfError (400 crlhf_error)
      └ AuthenticationFailed (401 authentication_failed)
      └ Conflict (409 conflict)
        └ DatabaseInUse (409 database_in_use)
        └ InvalidTransition (409 invalid_transition)
        └ NotServed (409 sample_not_served)
        └ RoundCancelled (409 round_cancelled)
        └ SelfAnnotation (409 self_annotation)
        └ SkipRefused (409 skip_refused)
      └ InvalidInput (422 invalid_input)
        └ EmptyDataset (422 empty_dataset)
        └ EmptySample (422 empty_sample)
        └ EmptyVoteSet (422 empty_vote_set)
        └ InvalidFile (422 invalid_file)
        └ InvalidPassAtK (422 invalid_pass_at_k)
        └ InvalidReliability (422 invalid_reliability)
        └ InvalidReward (422 invalid_reward)
        └ InvalidVote (422 invalid_vote)
        └ TokenMismatch (422 token_mismatch)
        └ UnknownAnnotator (422 unknown_annotator)
        └ UnsupportedDType (422 unsupported_dtype)
      └ MissingDependency (500 missing_dependency)
      └ NotFound (404 not_found)
        └ AdapterNotFound (404 adapter_not_found)
        └ AnnotatorNotFound (404 annotator_not_found)
        └ ProblemNotFound (404 problem_not_found)
        └ RoundNotFound (404 round_not_found)
        └ SampleNotFound (404 sample_not_found)
        └ WebhookNotFound (404 webhook_not_found)
      └ PayloadTooLarge (413 payload_too_large)
      └ PermissionDenied (403 permission_denied)
        └ AnnotatorPaused (403 annotator_paused)
      └ RateLimited (429 rate_limited)
      └ SandboxError (500 sandbox_error)
      └ ServerUnreachable (503 server_unreachable)
      └ TrainingFailed (500 training_failed)
"""

from __future__ import annotations

from typing import ClassVar


class CrlhfError(Exception):
    """Base of every error crlhf raises on purpose.

    ``code`` is the stable, machine-readable name sent over the wire; ``status_code``
    is the HTTP status the server answers with. ``field`` names the offending input
    where there is one, so a client can point at it.
    """

    code: ClassVar[str] = "crlhf_error"
    status_code: ClassVar[int] = 400

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def __str__(self) -> str:
        return f"{self.field}: {self.message}" if self.field else self.message


class InvalidInput(CrlhfError, ValueError):
    """Input that can never be valid, whatever the state of the system."""

    code = "invalid_input"
    status_code = 422


class InvalidVote(InvalidInput):
    """A vote outside {+1, -1}, or one that names a line the sample does not judge."""

    code = "invalid_vote"


class UnknownAnnotator(InvalidInput):
    """An annotator index or id the engine or server has never seen."""

    code = "unknown_annotator"


class EmptySample(InvalidInput):
    """A sample with no judged line: there is nothing to vote on or reward."""

    code = "empty_sample"


class EmptyVoteSet(InvalidInput):
    """A vote set without a single vote: no reliability can be estimated from it."""

    code = "empty_vote_set"


class InvalidReliability(InvalidInput):
    """A reliability that is NaN, infinite or outside [0, 1]."""

    code = "invalid_reliability"


class InvalidPassAtK(InvalidInput):
    """pass@k arguments that do not describe a possible experiment (k > n, c > n, ...)."""

    code = "invalid_pass_at_k"


class InvalidFile(InvalidInput):
    """A local file (JSONL import, config) that cannot be read or parsed.

    The message names the file and, where there is one, the line, so the user can fix it.
    """

    code = "invalid_file"


class EmptyDataset(InvalidInput):
    """A training round with no usable (x, y, s) triple (none, or none with enough votes)."""

    code = "empty_dataset"


class InvalidReward(InvalidInput):
    """A reward that is missing, NaN, infinite or outside [0, 1]."""

    code = "invalid_reward"


class TokenMismatch(InvalidInput):
    """Stored token ids or log-probs that do not fit the sample or the model.

    Missing ids, ids outside the vocabulary, a log-prob count that differs from the
    response length, or log-probs the policy cannot have sampled.
    """

    code = "token_mismatch"


class UnsupportedDType(InvalidInput):
    """A model dtype the device cannot compute in (bfloat16 on a pre-Ampere GPU, ...).

    Raised before any weight is loaded; ``field`` is ``dtype``.
    """

    code = "unsupported_dtype"


class NotFound(CrlhfError, LookupError):
    """The named resource does not exist."""

    code = "not_found"
    status_code = 404


class SampleNotFound(NotFound):
    code = "sample_not_found"


class ProblemNotFound(NotFound):
    code = "problem_not_found"


class AnnotatorNotFound(NotFound):
    code = "annotator_not_found"


class RoundNotFound(NotFound):
    code = "round_not_found"


class AdapterNotFound(NotFound):
    """An adapter version directory that does not exist or lacks one of its files."""

    code = "adapter_not_found"


class WebhookNotFound(NotFound):
    code = "webhook_not_found"


class Conflict(CrlhfError):
    """The request is well formed but clashes with the current state."""

    code = "conflict"
    status_code = 409


class SkipRefused(Conflict):
    """A skip beyond the limit of the warm-up window: the task must be judged."""

    code = "skip_refused"


class DatabaseInUse(Conflict):
    """A database file held by a running server (see ``crlhf_server.instance_lock``)."""

    code = "database_in_use"


class NotServed(Conflict):
    """A submission for a sample the server never handed to this annotator."""

    code = "sample_not_served"


class SelfAnnotation(Conflict):
    """A submission for a sample the submitter wrote (``SampleIn.author_id``)."""

    code = "self_annotation"


class InvalidTransition(Conflict):
    """A state-machine move that the current state does not allow (training rounds)."""

    code = "invalid_transition"


class RoundCancelled(Conflict):
    """A training round that was cancelled (or lost to the lease) while a worker ran it;
    the worker stops at the next step boundary and keeps no new adapter version."""

    code = "round_cancelled"


class AuthenticationFailed(CrlhfError):
    """Missing, malformed, unknown or disabled token."""

    code = "authentication_failed"
    status_code = 401


class PermissionDenied(CrlhfError):
    """A valid token whose role may not do this."""

    code = "permission_denied"
    status_code = 403


class AnnotatorPaused(PermissionDenied):
    """The annotator was paused by the quality policy or an admin; the message says why."""

    code = "annotator_paused"
    status_code = 403


class PayloadTooLarge(CrlhfError):
    code = "payload_too_large"
    status_code = 413


class RateLimited(CrlhfError):
    """Too many requests for this token; ``retry_after_s`` (the server's ``Retry-After``)
    says when the next one will be accepted."""

    code = "rate_limited"
    status_code = 429

    def __init__(
        self, message: str, *, field: str | None = None, retry_after_s: float | None = None
    ) -> None:
        super().__init__(message, field=field)
        self.retry_after_s = retry_after_s


class ServerUnreachable(CrlhfError, ConnectionError):
    """Client side only: the server could not be reached (the offline queue keeps the work)."""

    code = "server_unreachable"
    status_code = 503


class MissingDependency(CrlhfError, ImportError):
    """Client side only: a feature needs an optional extra that is not installed."""

    code = "missing_dependency"
    status_code = 500


class SandboxError(CrlhfError):
    """The sandboxed executor could not be set up (no usable interpreter, no free uid...).

    A hostile or broken sample never raises this: its verdict is a result, not an error.
    """

    code = "sandbox_error"
    status_code = 500


class TrainingFailed(CrlhfError):
    """A training round that could not finish (a non-finite loss, ...) on valid input."""

    code = "training_failed"
    status_code = 500


def _all_subclasses(cls: type[CrlhfError]) -> list[type[CrlhfError]]:
    found: list[type[CrlhfError]] = []
    for sub in cls.__subclasses__():
        found.append(sub)
        found.extend(_all_subclasses(sub))
    return found


def error_class_for(code: str) -> type[CrlhfError]:
    """Return the exception class whose wire ``code`` is ``code`` (the base class if unknown)."""
    candidates: list[type[CrlhfError]] = [CrlhfError, *_all_subclasses(CrlhfError)]
    return next((cls for cls in candidates if cls.code == code), CrlhfError)


def exception_tree() -> str:
    """The hierarchy below :class:`CrlhfError` as drawn in this module's docstring."""
    lines: list[str] = []

    def walk(cls: type[CrlhfError], depth: int) -> None:
        branch = "└ " if depth else ""
        lines.append(f"    {'  ' * depth}{branch}{cls.__name__} ({cls.status_code} {cls.code})")
        for child in sorted(cls.__subclasses__(), key=lambda c: c.__name__):
            if child.__module__ == __name__:
                walk(child, depth + 1)

    walk(CrlhfError, 0)
    return "\n".join(lines)
