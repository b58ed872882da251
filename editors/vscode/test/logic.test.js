// The extension's decisions, under plain node (no VS Code host runs here): which files
// are tasks, when crlhf-lsp starts, what the status bar says, what a failed start or an
// error answer shows, and that package.json contributes exactly what extension.js binds.
// Sign-in against a real server is in protocol.test.js (it has one running).
"use strict";

const { test } = require("node:test");
const assert = require("node:assert/strict");
const path = require("node:path");
const manifest = require("../package.json");
const { defaultTasksDir, readSettings, isTaskFile, shouldStart, withoutToken } = require("../src/settings");
const { statusBar } = require("../src/status");
const { SERVER_COMMANDS, LOCAL_COMMANDS, serverArguments, classifyError } = require("../src/commands");
const { startFailure } = require("../src/startup");
const { checkServerUrl } = require("../src/signin");

const TASKS = path.resolve("/home/ann/.cache/crlhf/tasks");

test("the tasks dir matches crlhf-lsp's default on each platform", () => {
  assert.equal(defaultTasksDir({ CRLHF_CACHE_DIR: "/c" }, "linux", "/h"), path.join("/c", "tasks"));
  assert.equal(defaultTasksDir({}, "linux", "/h"), path.join("/h", ".cache", "crlhf", "tasks"));
  assert.equal(defaultTasksDir({ XDG_CACHE_HOME: "/x" }, "linux", "/h"), path.join("/x", "crlhf", "tasks"));
  assert.equal(defaultTasksDir({}, "darwin", "/h"), path.join("/h", "Library", "Caches", "crlhf", "tasks"));
});

test("settings: blanks fall back, and there is no token setting", () => {
  const values = { server: "  ", tasksDir: "", serverCommand: [] };
  const read = readSettings((key) => values[key], { CRLHF_CACHE_DIR: "/c" });
  assert.deepEqual(read, { server: undefined, tasksDir: path.join("/c", "tasks"), command: ["crlhf-lsp"] });
  assert.ok(!("crlhf.token" in manifest.contributes.configuration.properties));
  assert.deepEqual(withoutToken({ server: "s", token: "t" }), { section: { server: "s" }, hadToken: true });
});

test("activation rules: an unconfigured user's Python project never starts crlhf-lsp", () => {
  const other = "/home/ann/project/main.py";
  const task = path.join(TASKS, "p1_s1.py");
  assert.equal(isTaskFile(task, TASKS), true);
  assert.equal(isTaskFile(other, TASKS), false);
  assert.equal(isTaskFile(path.join(TASKS, "..", "tasks-other", "x.py"), TASKS), false);
  assert.equal(isTaskFile(path.join(TASKS, "notes.txt"), TASKS), false);
  const env = {};
  assert.equal(shouldStart({ openFiles: [other], tasksDir: TASKS, env }), false);
  assert.equal(shouldStart({ openFiles: [other, task], tasksDir: TASKS, env }), true);
  assert.equal(shouldStart({ openFiles: [], tasksDir: TASKS, server: "http://s", env }), true);
  assert.equal(shouldStart({ openFiles: [], tasksDir: TASKS, signedIn: true, env }), true);
  assert.equal(shouldStart({ openFiles: [], tasksDir: TASKS, env: { CRLHF_SERVER: "http://s" } }), true);
  assert.ok(!manifest.activationEvents.includes("*"));
});

test("status bar: connection, queue and this task's marks", () => {
  assert.match(statusBar({ started: false }).text, /crlhf$/);
  assert.equal(statusBar({ started: true, configured: false }).command, "crlhf.editor.signIn");
  const open = { sampleId: "p1:s1", wrong: [3], correct: [1, 2], submitted: false, queued: false, status: "not submitted" };
  assert.equal(statusBar({ started: true, online: true, pending: 0, task: open }).text, "$(cloud) crlhf: 3 marked · 1 wrong");
  const offline = statusBar({ started: true, online: false, pending: 2, task: undefined });
  assert.equal(offline.text, "$(cloud-offline) crlhf: offline · 2 queued");
  assert.match(offline.tooltip, /submissions wait in the queue/);
  const done = { ...open, submitted: true, revision: 2, status: "submitted, revision 2, 2026-12-07 01:40 UTC" };
  const shown = statusBar({ started: true, online: true, pending: 0, task: done });
  assert.equal(shown.text, "$(cloud) crlhf: rev 2 · 1 wrong");
  assert.match(shown.tooltip, /sample p1:s1: submitted, revision 2/);
});

test("commands: every contributed command is bound, every key is scoped", () => {
  const contributed = manifest.contributes.commands.map((c) => c.command).sort();
  const bound = [...Object.keys(SERVER_COMMANDS), ...LOCAL_COMMANDS].sort();
  assert.deepEqual(contributed, bound);
  for (const name of ["Skip this sample", "Send queued submissions", "Revise submission", "Show the crowd's consensus", "Show output", "Restart language server", "Sign in"]) {
    assert.ok(manifest.contributes.commands.some((c) => c.title === name), name);
  }
  for (const key of manifest.contributes.keybindings) {
    assert.ok(key.when && /crlhf\.(taskEditor|active)/.test(key.when), JSON.stringify(key));
  }
  for (const key of manifest.contributes.keybindings.filter((k) => k.command !== "crlhf.editor.nextTask")) {
    assert.match(key.when, /crlhf\.taskEditor/);
  }
});

test("commands: arguments from the editor, and a clear line without a task", () => {
  const editor = { uri: "file:///t/a.py", isTask: true, selection: { start: { line: 3, character: 0 }, end: { line: 5, character: 0 } } };
  assert.deepEqual(serverArguments("crlhf.editor.markWrong", editor), { command: "crlhf.markWrong", args: ["file:///t/a.py", 3, 4] });
  assert.deepEqual(serverArguments("crlhf.editor.revise", editor), { command: "crlhf.revise", args: ["file:///t/a.py"] });
  assert.deepEqual(serverArguments("crlhf.editor.nextTask", undefined), { command: "crlhf.nextTask", args: [] });
  assert.match(serverArguments("crlhf.editor.submit", { ...editor, isTask: false }).error, /open a task file first/);
});

test("error answers: one message per event, and a question for an empty submit", () => {
  assert.deepEqual(classifyError({ message: "x", data: { code: "empty_submission", shown: false } }), { action: "confirm" });
  assert.deepEqual(classifyError({ message: "x", data: { code: "invalid_input", shown: true } }), { action: "none" });
  assert.deepEqual(classifyError({ message: "crlhf: boom" }), { action: "show", message: "crlhf: boom" });
});

test("a missing crlhf-lsp names the setting that fixes it", () => {
  const missing = startFailure(Object.assign(new Error("spawn crlhf-lsp ENOENT"), { code: "ENOENT" }), ["crlhf-lsp"]);
  assert.match(missing, /"crlhf-lsp" was not found/);
  assert.match(missing, /crlhf\.serverCommand/);
});

test("server URLs: /v1 and non-URLs are refused with the fix", () => {
  assert.match(checkServerUrl("http://127.0.0.1:8000/v1/").error, /set "crlhf.server" to http:\/\/127.0.0.1:8000 /);
  assert.match(checkServerUrl("localhost").error, /not a URL|http/);
  assert.equal(checkServerUrl("http://127.0.0.1:8000/").url, "http://127.0.0.1:8000");
});

test("the vsix carries a README, an icon, a LICENSE and a repository", () => {
  const fs = require("node:fs");
  const root = path.join(__dirname, "..");
  assert.ok(manifest.repository && manifest.repository.url);
  assert.ok(fs.existsSync(path.join(root, manifest.icon)));
  assert.ok(fs.existsSync(path.join(root, "README.md")));
  assert.ok(fs.existsSync(path.join(root, "LICENSE")));
});
