"""Crowd quality control: code honeypots, agreement metrics, lazy-submitter detection and
the automatic-action policy on unreliable annotators (see docs/quality.md)."""
