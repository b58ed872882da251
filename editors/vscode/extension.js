// crlhf for VS Code: starts crlhf-lsp and binds its commands to the palette and keys.
//
// The language server does the work (task files, marks, diagnostics, inlay hints, code
// actions, submission); this file only starts it and turns the editor's cursor or
// selection into the explicit arguments its commands take.
"use strict";

const vscode = require("vscode");
const { LanguageClient, TransportKind, ExecuteCommandRequest } = require("vscode-languageclient/node");
const { lineArguments } = require("./lines");

let client;

function settings() {
  const config = vscode.workspace.getConfiguration("crlhf");
  const text = (key) => config.get(key) || undefined;
  return {
    command: config.get("serverCommand") || ["crlhf-lsp"],
    options: { server: text("server"), token: text("token"), tasksDir: text("tasksDir") },
  };
}

async function execute(command, args) {
  try {
    return await client.sendRequest(ExecuteCommandRequest.type, { command, arguments: args });
  } catch (error) {
    // The server has already shown its own message (window/showMessage); log the rest.
    client.outputChannel.appendLine(`${command} failed: ${error.message || error}`);
    return undefined;
  }
}

function onEditor(command) {
  return () => {
    const editor = vscode.window.activeTextEditor;
    if (!editor) {
      vscode.window.showWarningMessage("crlhf: open a task file first (crlhf: Next task)");
      return undefined;
    }
    const args = command === "crlhf.submit" || command === "crlhf.showConsensus"
      ? [editor.document.uri.toString()]
      : lineArguments(editor.document.uri.toString(), editor.selection);
    return execute(command, args);
  };
}

async function activate(context) {
  const { command, options } = settings();
  client = new LanguageClient(
    "crlhf",
    "crlhf",
    { command: command[0], args: command.slice(1), transport: TransportKind.stdio },
    {
      documentSelector: [{ scheme: "file", language: "python" }],
      initializationOptions: options,
      synchronize: { configurationSection: "crlhf" },
    },
  );
  const register = (name, handler) =>
    context.subscriptions.push(vscode.commands.registerCommand(name, handler));
  register("crlhf.editor.nextTask", () => execute("crlhf.nextTask", []));
  register("crlhf.editor.markWrong", onEditor("crlhf.markWrong"));
  register("crlhf.editor.markCorrect", onEditor("crlhf.markCorrect"));
  register("crlhf.editor.clearMark", onEditor("crlhf.clearMark"));
  register("crlhf.editor.submit", onEditor("crlhf.submit"));
  register("crlhf.editor.sync", () => execute("crlhf.sync", []));
  register("crlhf.editor.showConsensus", onEditor("crlhf.showConsensus"));
  context.subscriptions.push(client);
  await client.start();
}

function deactivate() {
  return client ? client.stop() : undefined;
}

module.exports = { activate, deactivate };
