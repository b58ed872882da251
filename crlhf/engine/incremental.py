"""Incremental updates: one submission in, affected posteriors and reliabilities out.

INTERFACE DRAFT (to be implemented by the engine work): the server persists
``AnnotatorState`` per annotator and calls :func:`apply_submission` on each accepted
submission inside its write transaction. The function is pure: it returns new values and
mutates nothing, so a rolled-back transaction leaves nothing to undo.
"""
