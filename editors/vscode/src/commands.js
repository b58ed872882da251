// The palette commands and what each sends to crlhf-lsp. Plain node: extension.js binds
// them to the `vscode` API, and test/logic.test.js checks them against package.json.
"use strict";

const { lineArguments } = require("./lines");

// kind: "none" (no arguments), "uri" (the active task file), "lines" (uri + selection).
const SERVER_COMMANDS = {
  "crlhf.editor.nextTask": { server: "crlhf.nextTask", kind: "none" },
  "crlhf.editor.markWrong": { server: "crlhf.markWrong", kind: "lines" },
  "crlhf.editor.markCorrect": { server: "crlhf.markCorrect", kind: "lines" },
  "crlhf.editor.clearMark": { server: "crlhf.clearMark", kind: "lines" },
  "crlhf.editor.submit": { server: "crlhf.submit", kind: "uri" },
  "crlhf.editor.revise": { server: "crlhf.revise", kind: "uri" },
  "crlhf.editor.skip": { server: "crlhf.skip", kind: "uri" },
  "crlhf.editor.sync": { server: "crlhf.sync", kind: "none" },
  "crlhf.editor.showConsensus": { server: "crlhf.showConsensus", kind: "uri" },
};

// Commands the extension answers itself (sign-in, output, restart, the status line).
const LOCAL_COMMANDS = [
  "crlhf.editor.signIn",
  "crlhf.editor.signOut",
  "crlhf.editor.status",
  "crlhf.editor.showOutput",
  "crlhf.editor.restart",
];

// The arguments for a server command, or an `error` (one line) when there is no task
// editor to act on. `editor` is { uri, fsPath, selection, isTask } or undefined.
function serverArguments(name, editor) {
  const spec = SERVER_COMMANDS[name];
  if (spec.kind === "none") return { command: spec.server, args: [] };
  if (!editor || !editor.isTask) {
    return { error: "crlhf: open a task file first (crlhf: Next task fetches one)" };
  }
  const args = spec.kind === "uri" ? [editor.uri] : lineArguments(editor.uri, editor.selection);
  return { command: spec.server, args };
}

// An error answer from crlhf-lsp: show it unless the server already did (data.shown);
// `confirm` when nothing was marked (the caller asks, then re-sends with approveAll).
function classifyError(error) {
  const data = (error && error.data) || {};
  if (data.code === "empty_submission") return { action: "confirm" };
  if (data.shown) return { action: "none" };
  return { action: "show", message: `crlhf: ${(error && error.message) || error}`.replace(/^crlhf: crlhf: /, "crlhf: ") };
}

module.exports = { SERVER_COMMANDS, LOCAL_COMMANDS, serverArguments, classifyError };
