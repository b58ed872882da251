// Turns a VS Code selection into the [uri, startLine, endLine] arguments crlhf-lsp's mark
// commands take. Kept apart from extension.js (which needs the `vscode` module) so the
// protocol test can check it under plain node.
"use strict";

// A selection ending at column 0 of a later line does not cover that line (VS Code's own
// rule for line-wise commands such as "Delete Line").
function lineArguments(uri, selection) {
  const { start, end } = selection;
  const last = end.line > start.line && end.character === 0 ? end.line - 1 : end.line;
  return [uri, start.line, last];
}

module.exports = { lineArguments };
