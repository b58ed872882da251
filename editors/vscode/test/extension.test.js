// extension.js itself, loaded under node with stand-ins for the `vscode` module and the
// language client (no VS Code host runs here): what activation registers, that an
// unrelated Python file starts nothing, that a task file starts crlhf-lsp scoped to the
// tasks dir with the token from SecretStorage, and that "Sign in" stores a token only
// after the server accepted it. What stays untested: the real VS Code API behind these
// stand-ins (contexts in `when` clauses, the status bar's rendering, the modal dialog).
"use strict";

const { test, beforeEach } = require("node:test");
const assert = require("node:assert/strict");
const Module = require("node:module");
const path = require("node:path");

const TASKS = path.resolve("/tmp/crlhf-ext-test/tasks");
let host;

function makeHost() {
  const listeners = { editor: [], config: [] };
  const host = {
    commands: new Map(),
    contexts: {},
    shown: [],
    clients: [],
    requests: [],
    settings: { server: "", tasksDir: TASKS, serverCommand: ["crlhf-lsp"] },
    updates: [],
    inputs: [],
    activeTextEditor: undefined,
    textDocuments: [],
    statusItem: { visible: false },
    listeners,
  };
  const event = (list) => (fn) => {
    list.push(fn);
    return { dispose() {} };
  };
  const uri = (fsPath) => ({ scheme: "file", fsPath, toString: () => `file://${fsPath}` });
  host.editorFor = (fsPath) => ({
    document: { uri: uri(fsPath) },
    selection: { start: { line: 4, character: 0 }, end: { line: 4, character: 0 } },
  });
  host.vscode = {
    StatusBarAlignment: { Left: 1 },
    ConfigurationTarget: { Global: 1 },
    workspace: {
      getConfiguration: () => ({
        get: (key) => host.settings[key],
        update: async (key, value) => host.updates.push([key, value]),
      }),
      get textDocuments() {
        return host.textDocuments.map((p) => ({ uri: uri(p) }));
      },
      onDidChangeConfiguration: event(listeners.config),
    },
    window: {
      get activeTextEditor() {
        return host.activeTextEditor;
      },
      createOutputChannel: () => ({ appendLine() {}, show() {}, dispose() {} }),
      createStatusBarItem: () => {
        const item = host.statusItem;
        Object.assign(item, { show: () => (item.visible = true), hide: () => (item.visible = false), dispose() {} });
        return item;
      },
      showErrorMessage: async (m) => host.shown.push(["error", m]),
      showWarningMessage: async (m) => host.shown.push(["warning", m]),
      showInformationMessage: async (m) => host.shown.push(["info", m]),
      showInputBox: async () => host.inputs.shift(),
      onDidChangeActiveTextEditor: event(listeners.editor),
    },
    commands: {
      registerCommand: (name, fn) => {
        host.commands.set(name, fn);
        return { dispose() {} };
      },
      executeCommand: async (name, key, value) => {
        if (name === "setContext") host.contexts[key] = value;
      },
    },
  };
  class LanguageClient {
    constructor(id, name, serverOptions, clientOptions) {
      Object.assign(this, { id, serverOptions, clientOptions });
      host.clients.push(this);
    }
    async start() {}
    async stop() {}
    async dispose() {}
    onDidChangeState() {}
    async sendRequest(_type, params) {
      host.requests.push(params);
      if (params.command === "crlhf.status") {
        return { configured: true, online: true, pending: 1, text: "crlhf: ok" };
      }
      return {};
    }
  }
  host.languageclient = {
    LanguageClient,
    TransportKind: { stdio: 0 },
    ExecuteCommandRequest: { type: "workspace/executeCommand" },
    State: { Running: 2 },
  };
  return host;
}

function loadExtension() {
  const original = Module._load;
  Module._load = function load(request, ...rest) {
    if (request === "vscode") return host.vscode;
    if (request === "vscode-languageclient/node") return host.languageclient;
    return original.call(this, request, ...rest);
  };
  try {
    const file = require.resolve("../extension.js");
    delete require.cache[file];
    return require(file);
  } finally {
    Module._load = original;
  }
}

function fakeContext(secret) {
  const stored = new Map(secret ? [["crlhf.token", secret]] : []);
  return {
    subscriptions: [],
    secrets: {
      stored,
      get: async (key) => stored.get(key),
      store: async (key, value) => stored.set(key, value),
      delete: async (key) => stored.delete(key),
    },
  };
}

beforeEach(() => {
  host = makeHost();
  delete process.env.CRLHF_SERVER;
});

test("activation registers every contributed command; an unrelated Python file starts nothing", async () => {
  const manifest = require("../package.json");
  host.textDocuments = ["/home/ann/project/main.py"];
  host.activeTextEditor = host.editorFor("/home/ann/project/main.py");
  await loadExtension().activate(fakeContext());
  assert.deepEqual([...host.commands.keys()].sort(), manifest.contributes.commands.map((c) => c.command).sort());
  assert.equal(host.clients.length, 0);
  assert.equal(host.contexts["crlhf.taskEditor"], false);
  assert.equal(host.statusItem.visible, false);
  assert.deepEqual(host.shown, []); // no warning in someone else's project

  // A key pressed outside a task editor explains itself instead of failing silently.
  await host.commands.get("crlhf.editor.markWrong")();
  assert.match(host.shown.at(-1)[1], /open a task file first/);
});

test("a task file starts crlhf-lsp for the tasks dir, with the token from SecretStorage", async () => {
  await loadExtension().activate(fakeContext("secret-token"));
  assert.equal(host.clients.length, 1); // signed in: configured, so it starts
  const [client] = host.clients;
  assert.equal(client.clientOptions.initializationOptions.token, "secret-token");
  assert.equal(client.clientOptions.initializationOptions.editor, "vscode");
  assert.deepEqual(client.clientOptions.documentSelector, [{ scheme: "file", language: "python", pattern: `${TASKS}/**` }]);

  host.activeTextEditor = host.editorFor(path.join(TASKS, "p1_s1.py"));
  for (const fn of host.listeners.editor) await fn();
  assert.equal(host.contexts["crlhf.taskEditor"], true);
  assert.equal(host.statusItem.visible, true);
  assert.equal(host.statusItem.text, "$(cloud) crlhf: 1 queued");

  await host.commands.get("crlhf.editor.markWrong")();
  const sent = host.requests.find((r) => r.command === "crlhf.markWrong");
  assert.deepEqual(sent.arguments, [`file://${path.join(TASKS, "p1_s1.py")}`, 4, 4]);
  // workspace/configuration answers never carry a token from settings.json.
  const answer = await client.clientOptions.middleware.workspace.configuration({}, undefined, async () => [{ server: "s", token: "leak" }]);
  assert.deepEqual(answer, [{ server: "s" }]);
});

test("a missing crlhf-lsp is one notification naming crlhf.serverCommand", async () => {
  host.languageclient.LanguageClient.prototype.start = async () => {
    throw Object.assign(new Error("spawn crlhf-lsp ENOENT"), { code: "ENOENT" });
  };
  await loadExtension().activate(fakeContext("t"));
  assert.equal(host.shown.length, 1);
  assert.equal(host.shown[0][0], "error");
  assert.match(host.shown[0][1], /"crlhf-lsp" was not found.*crlhf\.serverCommand/);
});

test("Sign in stores the token only after the server accepts it", async () => {
  const context = fakeContext();
  await loadExtension().activate(context);
  const calls = [];
  const realFetch = global.fetch;
  global.fetch = async (url, init) => {
    calls.push([url, init.headers.Authorization]);
    const ok = init.headers.Authorization === "Bearer good";
    return { ok, status: ok ? 200 : 401, json: async () => (ok ? { name: "ann" } : { code: "authentication_failed" }) };
  };
  try {
    host.inputs = ["http://127.0.0.1:8000/", "bad"];
    await host.commands.get("crlhf.editor.signIn")();
    assert.equal(context.secrets.stored.size, 0);
    assert.match(host.shown.at(-1)[1], /rejected this token; nothing was saved/);

    host.inputs = ["http://127.0.0.1:8000", "good"];
    await host.commands.get("crlhf.editor.signIn")();
    assert.equal(context.secrets.stored.get("crlhf.token"), "good");
    assert.deepEqual(host.updates, [["server", "http://127.0.0.1:8000"]]);
    assert.match(host.shown.at(-1)[1], /signed in to http:\/\/127.0.0.1:8000 as ann/);
    assert.equal(host.clients.at(-1).clientOptions.initializationOptions.token, "good");
  } finally {
    global.fetch = realFetch;
  }
  assert.equal(calls[0][0], "http://127.0.0.1:8000/v1/me");
});
