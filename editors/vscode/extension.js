// crlhf for VS Code: binds the plain modules in src/ to the `vscode` API.
//
// The language server does the work (task files, marks, diagnostics, inlay hints, code
// actions, submission); src/ holds every decision this file makes (which files are tasks,
// when to start, what the status bar says, how sign-in checks a token, what a failed
// start means), so it is tested under plain node. This file only wires them up: no VS
// Code host runs in CI, so keep it thin.
"use strict";

const vscode = require("vscode");
const { LanguageClient, TransportKind, ExecuteCommandRequest, State } = require("vscode-languageclient/node");
const { readSettings, isTaskFile, shouldStart, withoutToken } = require("./src/settings");
const { SECRET_KEY, checkServerUrl, signIn } = require("./src/signin");
const { statusBar } = require("./src/status");
const { SERVER_COMMANDS, serverArguments, classifyError } = require("./src/commands");
const { startFailure } = require("./src/startup");

let context;
let client;
let output;
let statusItem;
const state = { started: false, configured: true, online: null, pending: 0, task: undefined };

function settings() {
  const config = vscode.workspace.getConfiguration("crlhf");
  return readSettings((key) => config.get(key));
}

function activeTask() {
  const editor = vscode.window.activeTextEditor;
  if (!editor) return undefined;
  const { uri } = editor.document;
  return {
    uri: uri.toString(),
    fsPath: uri.fsPath,
    selection: editor.selection,
    isTask: uri.scheme === "file" && isTaskFile(uri.fsPath, settings().tasksDir),
  };
}

function render() {
  const { text, tooltip, command } = statusBar(state);
  statusItem.text = text;
  statusItem.tooltip = tooltip;
  statusItem.command = command;
  const task = activeTask();
  if (state.started || (task && task.isTask)) statusItem.show();
  else statusItem.hide();
}

async function updateContext() {
  const task = activeTask();
  await vscode.commands.executeCommand("setContext", "crlhf.taskEditor", Boolean(task && task.isTask));
  await vscode.commands.executeCommand("setContext", "crlhf.active", state.started);
}

async function startClient() {
  if (client) return client;
  const { command, tasksDir } = settings();
  const token = await context.secrets.get(SECRET_KEY);
  client = new LanguageClient(
    "crlhf",
    "crlhf",
    { command: command[0], args: command.slice(1), transport: TransportKind.stdio },
    {
      // Task files only: the rest of your Python never talks to crlhf-lsp.
      documentSelector: [{ scheme: "file", language: "python", pattern: `${tasksDir.replace(/\\/g, "/")}/**` }],
      initializationOptions: { ...settings(), command: undefined, token, editor: "vscode" },
      synchronize: { configurationSection: "crlhf" },
      outputChannel: output,
      middleware: {
        workspace: {
          configuration: async (params, token_, next) => {
            const answer = await next(params, token_);
            return Array.isArray(answer) ? answer.map((section) => withoutToken(section).section) : answer;
          },
        },
      },
    },
  );
  try {
    await client.start();
  } catch (error) {
    const failed = client;
    client = undefined;
    await failed.dispose().catch(() => undefined);
    const choice = await vscode.window.showErrorMessage(startFailure(error, command), "Open settings", "Show output");
    if (choice === "Open settings") vscode.commands.executeCommand("workbench.action.openSettings", "crlhf.serverCommand");
    if (choice === "Show output") output.show();
    return undefined;
  }
  client.onDidChangeState((event) => {
    state.started = event.newState === State.Running;
    render();
  });
  state.started = true;
  await updateContext();
  await refreshStatus();
  return client;
}

async function send(command, args) {
  const running = await startClient();
  if (!running) return undefined;
  try {
    const result = await running.sendRequest(ExecuteCommandRequest.type, { command, arguments: args });
    if (result && result.sampleId) state.task = result;
    render();
    return result;
  } catch (error) {
    const verdict = classifyError(error);
    if (verdict.action === "confirm") {
      const approve = "Approve all";
      const choice = await vscode.window.showWarningMessage(
        "crlhf: no line is marked. Submit every line of this sample as correct?",
        { modal: true },
        approve,
      );
      if (choice === approve) return send(command, [args[0], { approveAll: true }]);
    } else if (verdict.action === "show") {
      vscode.window.showErrorMessage(verdict.message);
    }
    output.appendLine(`${command} failed: ${error.message || error}`);
    return undefined;
  } finally {
    refreshStatus();
  }
}

async function refreshStatus() {
  if (!client) return render();
  const task = activeTask();
  try {
    const answer = await client.sendRequest(ExecuteCommandRequest.type, {
      command: "crlhf.status",
      arguments: task && task.isTask ? [task.uri] : [],
    });
    state.configured = answer.configured !== false;
    state.online = answer.online;
    state.pending = answer.pending || 0;
    state.task = answer.task;
    state.text = answer.text;
  } catch (error) {
    output.appendLine(`crlhf.status failed: ${error.message || error}`);
  }
  render();
}

async function signInCommand() {
  let server = settings().server || process.env.CRLHF_SERVER;
  if (!server) {
    server = await vscode.window.showInputBox({
      prompt: "crlhf server URL",
      placeHolder: "http://127.0.0.1:8000",
      validateInput: (value) => checkServerUrl(value).error,
    });
    if (!server) return;
  }
  const token = await vscode.window.showInputBox({ prompt: `Your annotator token for ${server}`, password: true, ignoreFocusOut: true });
  if (!token) return;
  const result = await signIn({ server, token, secrets: context.secrets });
  if (!result.ok) {
    vscode.window.showErrorMessage(result.message);
    return;
  }
  if (!settings().server) {
    await vscode.workspace.getConfiguration("crlhf").update("server", result.server, vscode.ConfigurationTarget.Global);
  }
  vscode.window.showInformationMessage(`crlhf: signed in to ${result.server} as ${result.name}`);
  await restart();
}

async function restart() {
  if (client) {
    const old = client;
    client = undefined;
    state.started = false;
    await old.stop().catch(() => undefined);
  }
  await startClient();
}

async function maybeStart() {
  const files = vscode.workspace.textDocuments.filter((d) => d.uri.scheme === "file").map((d) => d.uri.fsPath);
  const signedIn = Boolean(await context.secrets.get(SECRET_KEY));
  const { server, tasksDir } = settings();
  if (shouldStart({ openFiles: files, tasksDir, server, signedIn })) await startClient();
  await updateContext();
  render();
}

async function activate(extensionContext) {
  context = extensionContext;
  output = vscode.window.createOutputChannel("crlhf");
  statusItem = vscode.window.createStatusBarItem(vscode.StatusBarAlignment.Left, 50);
  const register = (name, handler) => context.subscriptions.push(vscode.commands.registerCommand(name, handler));
  for (const name of Object.keys(SERVER_COMMANDS)) {
    register(name, () => {
      const prepared = serverArguments(name, activeTask());
      if (prepared.error) return vscode.window.showWarningMessage(prepared.error);
      return send(prepared.command, prepared.args);
    });
  }
  register("crlhf.editor.signIn", signInCommand);
  register("crlhf.editor.signOut", async () => {
    await context.secrets.delete(SECRET_KEY);
    vscode.window.showInformationMessage("crlhf: signed out (the token was removed from this machine)");
    await restart();
  });
  register("crlhf.editor.status", async () => {
    await startClient();
    await refreshStatus();
    vscode.window.showInformationMessage(state.text || statusItem.tooltip);
  });
  register("crlhf.editor.showOutput", () => output.show());
  register("crlhf.editor.restart", restart);
  context.subscriptions.push(
    output,
    statusItem,
    vscode.window.onDidChangeActiveTextEditor(async () => {
      await maybeStart();
      await refreshStatus();
    }),
    vscode.workspace.onDidChangeConfiguration((event) => {
      if (event.affectsConfiguration("crlhf.serverCommand") || event.affectsConfiguration("crlhf.tasksDir")) restart();
    }),
    { dispose: () => (client ? client.stop() : undefined) },
  );
  await maybeStart();
}

function deactivate() {
  return client ? client.stop() : undefined;
}

module.exports = { activate, deactivate };
