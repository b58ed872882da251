// "crlhf: Sign in": check a token against the server before it is stored in SecretStorage.
// Plain node: `fetch` and the secret store are passed in, so test/logic.test.js runs it
// against a real `crlhf serve`.
"use strict";

const SECRET_KEY = "crlhf.token";

// The server URL as crlhf-lsp wants it: http(s)://host[:port], no /v1, no trailing slash.
function checkServerUrl(raw) {
  const url = (raw || "").trim().replace(/\/+$/, "");
  let parsed;
  try {
    parsed = new URL(url);
  } catch {
    return { error: `crlhf: "${raw}" is not a URL; set "crlhf.server" to e.g. http://127.0.0.1:8000` };
  }
  if (!["http:", "https:"].includes(parsed.protocol)) {
    return { error: `crlhf: "${raw}" must start with http:// or https://` };
  }
  if (parsed.pathname.replace(/\/+$/, "").endsWith("/v1")) {
    const base = url.slice(0, -"/v1".length);
    return { error: `crlhf: the server URL ends in /v1; set "crlhf.server" to ${base} (crlhf adds /v1 itself)` };
  }
  return { url };
}

// Ask GET /v1/me with the token. One line for every way it can fail; nothing is stored.
async function verifyToken(server, token, fetchImpl = fetch) {
  const checked = checkServerUrl(server);
  if (checked.error) return { ok: false, message: checked.error };
  if (!token || !token.trim()) return { ok: false, message: "crlhf: the token is empty; nothing was saved" };
  let response;
  try {
    response = await fetchImpl(`${checked.url}/v1/me`, {
      headers: { Authorization: `Bearer ${token.trim()}` },
      signal: AbortSignal.timeout(10_000),
    });
  } catch (error) {
    const timedOut = error && (error.name === "TimeoutError" || error.name === "AbortError");
    const why = timedOut
      ? `${checked.url} did not answer in time`
      : `nothing accepts connections at ${checked.url} (wrong port, or \`crlhf serve\` not running?)`;
    return { ok: false, message: `crlhf: ${why}; check "crlhf.server"; nothing was saved` };
  }
  if (response.status === 401) {
    return { ok: false, message: `crlhf: the server at ${checked.url} rejected this token; nothing was saved` };
  }
  let body;
  try {
    body = await response.json();
  } catch {
    body = undefined;
  }
  if (!response.ok || !body || typeof body.name !== "string") {
    return {
      ok: false,
      message: `crlhf: ${checked.url} answered ${response.status}, but not as a crlhf server; check "crlhf.server"`,
    };
  }
  return { ok: true, name: body.name, server: checked.url };
}

// Verify, then store: a wrong token never replaces a working one.
async function signIn({ server, token, secrets, fetchImpl = fetch }) {
  const result = await verifyToken(server, token, fetchImpl);
  if (result.ok) await secrets.store(SECRET_KEY, token.trim());
  return result;
}

module.exports = { SECRET_KEY, checkServerUrl, verifyToken, signIn };
