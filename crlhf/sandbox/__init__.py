"""Sandboxed execution of untrusted generated code (standard library only, no torch).

Layers, outermost first: a separate process per problem and a fresh fork per sample;
rlimits (CPU, address space, processes, file size, open files, no core dumps); a private
unprivileged uid when the host is root; a network namespace where the OS allows one;
``start_new_session`` and a sweep that kills whatever the sample left; and an audit hook
inside the sample's process that turns forbidden actions into a ``blocked`` verdict.
See docs/benchmarks.md for what each layer does and does not stop.
"""

from crlhf.sandbox.executor import Executor
from crlhf.sandbox.limits import Limits
from crlhf.sandbox.results import Isolation, Outcome, SampleResult

__all__ = ["Executor", "Isolation", "Limits", "Outcome", "SampleResult"]
