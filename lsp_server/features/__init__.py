"""LSP features of crlhf-lsp: each module turns a :class:`TaskDocument` into protocol types."""
