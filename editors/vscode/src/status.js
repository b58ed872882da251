// The status bar item: connection, queued submissions, marks on the task in view.
// Plain node, tested in test/logic.test.js.
"use strict";

// `state`: { started, configured, online, pending, task } where `task` is crlhf-lsp's
// summary of the task in the active editor (or undefined).
function statusBar(state) {
  const { started, configured = true, online, pending = 0, task } = state;
  if (!started) return { text: "$(circle-slash) crlhf", tooltip: "crlhf: not started (open a task or run crlhf: Next task)" };
  if (!configured) return { text: "$(warning) crlhf: sign in", tooltip: "crlhf: not configured; run crlhf: Sign in", command: "crlhf.editor.signIn" };
  const parts = [];
  const icon = online === false ? "$(cloud-offline)" : "$(cloud)";
  if (online === false) parts.push("offline");
  if (pending > 0) parts.push(`${pending} queued`);
  if (task) {
    const marked = task.wrong.length + task.correct.length;
    if (task.submitted) parts.push(`rev ${task.revision}`);
    else if (task.queued) parts.push("submitted (queued)");
    else parts.push(`${marked} marked`);
    if (task.wrong.length) parts.push(`${task.wrong.length} wrong`);
  }
  const text = `${icon} crlhf${parts.length ? ": " + parts.join(" · ") : ""}`;
  const tooltip = [
    online === false ? "server unreachable: submissions wait in the queue" : online ? "connected" : "not contacted yet",
    `${pending} submission(s) queued`,
    task ? `sample ${task.sampleId}: ${task.status}` : "no task in this editor",
  ].join("\n");
  return { text, tooltip, command: "crlhf.editor.status" };
}

module.exports = { statusBar };
