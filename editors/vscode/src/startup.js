// Turning a failed start of crlhf-lsp into one notification that names the fix.
// Plain node, tested in test/logic.test.js.
"use strict";

function startFailure(error, command) {
  const text = String((error && (error.code || error.message)) || error);
  const program = command[0];
  if (/ENOENT|not found|spawn/i.test(text)) {
    return (
      `crlhf: cannot start the language server: "${program}" was not found. ` +
      `Install it (pip install 'crlhf[lsp]') or set "crlhf.serverCommand" to its full path.`
    );
  }
  return `crlhf: the language server ("${command.join(" ")}") failed to start: ${text}. See "crlhf: Show output".`;
}

module.exports = { startFailure };
