// Protocol-level test of what the VS Code extension relies on: crlhf-lsp over stdio,
// driven with vscode-languageserver-protocol (the library under vscode-languageclient)
// against a real `crlhf serve`. Fetch a task, mark lines through a code action and through
// commands with the arguments extension.js computes, submit, and check the votes the
// server stored. Run: `npm test` (needs the repo's Python env; CRLHF_PYTHON overrides it).
"use strict";

const { test, before, after } = require("node:test");
const assert = require("node:assert/strict");
const { spawn } = require("node:child_process");
const fs = require("node:fs");
const net = require("node:net");
const os = require("node:os");
const path = require("node:path");
const { fileURLToPath } = require("node:url");
// One module for both the connection and the message types: vscode-jsonrpc must be the
// copy vscode-languageserver-protocol was built with.
const lsp = require("vscode-languageserver-protocol/node");
const http = require("node:http");
const { lineArguments } = require("../src/lines");
const { signIn, SECRET_KEY } = require("../src/signin");

const REPO = path.resolve(__dirname, "../../..");
const VENV_PYTHON = path.join(REPO, ".venv", "bin", "python");
const PYTHON = process.env.CRLHF_PYTHON || (fs.existsSync(VENV_PYTHON) ? VENV_PYTHON : "python3");
const ADMIN_TOKEN = "node-test-admin-token-0123456789abcdef";
const HEADER_END = /^# --- crlhf:/;

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "crlhf-vscode-"));
const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("CRLHF_")));
let server;
let lspProcess;
let connection;
let baseUrl;
const shown = [];
const messages = [];
const diagnostics = new Map();
let settings = {};

function freePort() {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.on("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

async function waitForHealth(url, child) {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`crlhf serve exited with ${child.exitCode}`);
    try {
      if ((await fetch(`${url}/v1/health`)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error("crlhf serve did not answer /v1/health within 60 s");
}

async function admin(method, route, body) {
  const response = await fetch(`${baseUrl}${route}`, {
    method,
    headers: { Authorization: `Bearer ${ADMIN_TOKEN}`, "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  assert.ok(response.ok, `${method} ${route}: ${response.status} ${await response.clone().text()}`);
  return response.json();
}

function execute(command, ...args) {
  return connection.sendRequest(lsp.ExecuteCommandRequest.type, { command, arguments: args });
}

before(async () => {
  const port = await freePort();
  baseUrl = `http://127.0.0.1:${port}`;
  const serverLog = fs.openSync(path.join(tmp, "server.log"), "w");
  server = spawn(
    PYTHON,
    ["-m", "crlhf", "serve", "--db", path.join(tmp, "crlhf.db"), "--host", "127.0.0.1", "--port", String(port)],
    { cwd: REPO, env: { ...env, CRLHF_ADMIN_TOKEN: ADMIN_TOKEN }, stdio: ["ignore", serverLog, serverLog] },
  );
  await waitForHealth(baseUrl, server);
  const created = await admin("POST", "/v1/admin/annotators", { name: "vscode" });
  settings = { server: baseUrl, token: created.token };

  lspProcess = spawn(PYTHON, ["-m", "crlhf_lsp"], {
    cwd: REPO,
    env: {
      ...env,
      CRLHF_CACHE_DIR: path.join(tmp, "cache"),
      CRLHF_DATA_DIR: path.join(tmp, "data"),
      CRLHF_CONFIG_DIR: path.join(tmp, "config"),
    },
    stdio: ["pipe", "pipe", "inherit"],
  });
  connection = lsp.createProtocolConnection(
    new lsp.StreamMessageReader(lspProcess.stdout),
    new lsp.StreamMessageWriter(lspProcess.stdin),
  );
  // What VS Code answers: settings from workspace configuration, documents it shows.
  connection.onRequest(lsp.ConfigurationRequest.type, (params) =>
    params.items.map((item) => (item.section === "crlhf" ? settings : null)),
  );
  connection.onRequest(lsp.ShowDocumentRequest.type, (params) => {
    shown.push(params.uri);
    return { success: true };
  });
  connection.onRequest(lsp.InlayHintRefreshRequest.type, () => null);
  connection.onNotification(lsp.ShowMessageNotification.type, (params) => messages.push(params));
  connection.onNotification(lsp.PublishDiagnosticsNotification.type, (params) =>
    diagnostics.set(params.uri, params.diagnostics),
  );
  connection.listen();
});

after(async () => {
  if (connection) {
    await connection.sendRequest(lsp.ShutdownRequest.type).catch(() => undefined);
    await connection.sendNotification(lsp.ExitNotification.type).catch(() => undefined);
    connection.dispose();
  }
  if (lspProcess && lspProcess.exitCode === null) lspProcess.kill();
  if (server && server.exitCode === null) server.kill();
  fs.rmSync(tmp, { recursive: true, force: true });
});

test("lineArguments: a selection ending at column 0 stops at the line before", () => {
  const at = (line, character) => ({ line, character });
  assert.deepEqual(lineArguments("u", { start: at(3, 2), end: at(3, 2) }), ["u", 3, 3]);
  assert.deepEqual(lineArguments("u", { start: at(3, 0), end: at(5, 0) }), ["u", 3, 4]);
  assert.deepEqual(lineArguments("u", { start: at(3, 0), end: at(5, 1) }), ["u", 3, 5]);
});

test("initialize, next task, mark by code action and by command, submit", async () => {
  const result = await connection.sendRequest(lsp.InitializeRequest.type, {
    processId: process.pid,
    rootUri: null,
    initializationOptions: { editor: "vscode" }, // as extension.js sends (the token comes from SecretStorage)
    capabilities: {
      general: { positionEncodings: ["utf-16"] },
      workspace: { configuration: true, inlayHint: { refreshSupport: true } },
      window: { showDocument: { support: true } },
      textDocument: {
        codeAction: { codeActionLiteralSupport: { codeActionKind: { valueSet: [""] } } },
        inlayHint: {},
        publishDiagnostics: {},
      },
    },
  });
  await connection.sendNotification(lsp.InitializedNotification.type, {});
  const caps = result.capabilities;
  assert.equal(caps.positionEncoding, "utf-16");
  for (const name of ["crlhf.nextTask", "crlhf.markWrong", "crlhf.markCorrect", "crlhf.clearMark", "crlhf.submit"]) {
    assert.ok(caps.executeCommandProvider.commands.includes(name), name);
  }
  assert.ok(caps.codeActionProvider && caps.inlayHintProvider);

  const task = await execute("crlhf.nextTask");
  assert.equal(shown.at(-1), task.uri);
  const text = fs.readFileSync(fileURLToPath(task.uri), "utf8");
  const lines = text.split("\n");
  const first = lines.findIndex((l) => HEADER_END.test(l)) + 1;
  const judged = []; // document lines (0-based) of judged sample lines
  for (let i = first; i < lines.length; i++) if (lines[i].trim()) judged.push(i);
  const sample = (docLine) => docLine - first + 1;
  assert.ok(judged.length >= 3);

  // VS Code on Windows may hand the server CRLF text.
  await connection.sendNotification(lsp.DidOpenTextDocumentNotification.type, {
    textDocument: { uri: task.uri, languageId: "python", version: 1, text: text.replace(/\n/g, "\r\n") },
  });

  const actions = await connection.sendRequest(lsp.CodeActionRequest.type, {
    textDocument: { uri: task.uri },
    range: { start: { line: judged[0], character: 0 }, end: { line: judged[0], character: 0 } },
    context: { diagnostics: [] },
  });
  const wrong = actions.find((a) => a.title.endsWith("wrong"));
  assert.ok(wrong && wrong.command, JSON.stringify(actions));
  await execute(wrong.command.command, ...wrong.command.arguments);

  // As the key bindings do: the cursor on the last judged line, and a selection of two.
  const at = (line, character) => ({ line, character });
  const last = judged.at(-1);
  await execute("crlhf.markWrong", ...lineArguments(task.uri, { start: at(last, 3), end: at(last, 3) }));
  const selection = { start: at(judged[1], 0), end: at(judged[2] + 1, 0) };
  const marked = await execute("crlhf.markCorrect", ...lineArguments(task.uri, selection));
  assert.deepEqual(marked.wrong, [sample(judged[0]), sample(last)]);
  assert.deepEqual(marked.correct, [sample(judged[1]), sample(judged[2])]);
  const shownDiagnostics = diagnostics.get(task.uri);
  assert.equal(shownDiagnostics.length, 4);
  assert.ok(shownDiagnostics.every((d) => d.source === "crlhf"));

  const submitted = await execute("crlhf.submit", task.uri);
  assert.equal(submitted.submitted, true);
  assert.equal(submitted.revision, 1);
  assert.ok(messages.some((m) => m.message.includes("submitted")));

  // A plain submit again is refused (the server showed why: the extension shows nothing).
  const shownBefore = messages.length;
  await assert.rejects(execute("crlhf.submit", task.uri), (error) => {
    assert.equal(error.data.code, "already_submitted");
    assert.equal(error.data.shown, true);
    return true;
  });
  assert.equal(messages.length, shownBefore + 1);
  assert.match(messages.at(-1).message, /crlhf: Revise submission/);

  const consensus = await admin("GET", `/v1/admin/samples/${encodeURIComponent(task.sampleId)}/consensus`);
  const stored = Object.fromEntries(consensus.map((c) => [c.line, c.n_wrong > 0 ? -1 : 1]));
  const expected = Object.fromEntries(
    judged.map((l) => [sample(l), l === judged[0] || l === last ? -1 : 1]),
  );
  assert.deepEqual(stored, expected);
  assert.ok(consensus.every((c) => c.n_votes === 1));
});

function fakeSecrets() {
  const stored = new Map();
  return { stored, store: async (key, value) => stored.set(key, value) };
}

test("sign in: a good token is stored, a wrong one is refused in one line and not stored", async () => {
  const secrets = fakeSecrets();
  const wrong = await signIn({ server: baseUrl, token: "not-a-token", secrets });
  assert.equal(wrong.ok, false);
  assert.match(wrong.message, /rejected this token; nothing was saved/);
  assert.equal(secrets.stored.size, 0);

  const good = await signIn({ server: `${baseUrl}/`, token: settings.token, secrets });
  assert.deepEqual([good.ok, good.name, good.server], [true, "vscode", baseUrl]);
  assert.equal(secrets.stored.get(SECRET_KEY), settings.token);
});

test("sign in: /v1, a wrong port and a server that is not crlhf are told apart", async () => {
  const secrets = fakeSecrets();
  const v1 = await signIn({ server: `${baseUrl}/v1`, token: settings.token, secrets });
  assert.match(v1.message, /ends in \/v1/);
  const port = await freePort();
  const closed = await signIn({ server: `http://127.0.0.1:${port}`, token: settings.token, secrets });
  assert.match(closed.message, /nothing accepts connections at http:\/\/127.0.0.1:\d+ \(wrong port/);
  const other = http.createServer((_, res) => res.writeHead(404, { "Content-Type": "text/html" }).end("<h1>nope</h1>"));
  await new Promise((resolve) => other.listen(0, "127.0.0.1", resolve));
  try {
    const answer = await signIn({ server: `http://127.0.0.1:${other.address().port}`, token: "t", secrets });
    assert.match(answer.message, /answered 404, but not as a crlhf server/);
  } finally {
    other.close();
  }
  assert.equal(secrets.stored.size, 0);
});
