"""crlhf-tui: the Textual terminal annotation client (see docs/tui.md)."""
