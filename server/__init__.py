"""The annotation server: FastAPI + SQLite, the system of record (see docs/server.md)."""
