// Where task files live and when the extension has any business starting crlhf-lsp.
// Plain node (no `vscode` module), so test/logic.test.js checks it.
"use strict";

const os = require("node:os");
const path = require("node:path");

// The same directory crlhf-lsp writes to (lsp_server/config.py: $CRLHF_CACHE_DIR/tasks,
// else platformdirs' user cache dir for "crlhf").
function defaultTasksDir(env = process.env, platform = process.platform, home = os.homedir()) {
  if (env.CRLHF_CACHE_DIR) return path.join(env.CRLHF_CACHE_DIR, "tasks");
  if (platform === "darwin") return path.join(home, "Library", "Caches", "crlhf", "tasks");
  if (platform === "win32") {
    return path.join(env.LOCALAPPDATA || path.join(home, "AppData", "Local"), "crlhf", "crlhf", "Cache", "tasks");
  }
  return path.join(env.XDG_CACHE_HOME || path.join(home, ".cache"), "crlhf", "tasks");
}

// The extension's settings, read through `get(key)` (vscode's WorkspaceConfiguration.get).
// There is no token setting: the token lives in SecretStorage (see signin.js).
function readSettings(get, env = process.env) {
  const text = (key) => {
    const value = get(key);
    return typeof value === "string" && value.trim() ? value.trim() : undefined;
  };
  const command = get("serverCommand");
  return {
    server: text("server"),
    tasksDir: text("tasksDir") || defaultTasksDir(env),
    command: Array.isArray(command) && command.length ? command : ["crlhf-lsp"],
  };
}

function isTaskFile(fsPath, tasksDir) {
  if (!fsPath || !fsPath.endsWith(".py")) return false;
  const relative = path.relative(path.resolve(tasksDir), path.resolve(fsPath));
  return relative !== "" && !relative.startsWith("..") && !path.isAbsolute(relative);
}

// Start crlhf-lsp only for a task file, or once the user has configured crlhf (a server
// setting or a stored token): an ordinary Python project never sees the extension.
function shouldStart({ openFiles = [], tasksDir, server, signedIn, env = process.env }) {
  if (server || signedIn || env.CRLHF_SERVER) return true;
  return openFiles.some((file) => isTaskFile(file, tasksDir));
}

// The settings section crlhf-lsp asks for, without a token (a `crlhf.token` left in a
// settings.json from an older version is ignored: it could be committed with the project).
function withoutToken(section) {
  if (!section || typeof section !== "object") return { section, hadToken: false };
  const { token, ...rest } = section;
  return { section: rest, hadToken: token !== undefined && token !== "" };
}

module.exports = { defaultTasksDir, readSettings, isTaskFile, shouldStart, withoutToken };
