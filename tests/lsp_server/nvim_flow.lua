-- Drives headless Neovim through the crlhf plugin against a real crlhf-lsp and crlhf
-- server, in two phases run as two Neovim processes (an editor restart in between):
--
--   mark   next task; an empty submit is cancelled at its confirmation; marks through
--          Neovim's code-action menu, the key maps (normal and visual) and a clear.
--   submit reopen the task file: the marks are back; submit; a plain submit again is
--          refused; revise; :Crlhf next, and an empty submit approved at its confirmation.
--
-- After every action it reads back the inlay hints Neovim has *drawn* (the extmarks of
-- its inlay-hint namespace, after a redraw) and compares them with the marks it made.
-- Writes what it saw as JSON to $CRLHF_TEST_OUT. Run by test_neovim.py.
local out = assert(vim.env.CRLHF_TEST_OUT)
local phase = assert(vim.env.CRLHF_TEST_PHASE)

local function write(result)
  local file = assert(io.open(out, "w"))
  file:write(vim.json.encode(result))
  file:close()
end

local function wait(what, predicate, detail)
  if not vim.wait(30000, predicate, 20) then
    error("timed out waiting for " .. what .. (detail and (": " .. detail()) or ""))
  end
end

local messages = {}
vim.notify = function(message, level)
  table.insert(messages, { message = message, level = level })
end

local choices = {} -- what the stubbed vim.ui.select picks next (by index), and its prompts
local prompts = {}
local titles = {} -- the code-action menu's titles
vim.ui.select = function(items, opts, on_choice)
  table.insert(prompts, opts.prompt or "")
  local pick = table.remove(choices, 1)
  if pick == "code action: wrong" then
    for _, item in ipairs(items) do
      table.insert(titles, (item.action or item[2] or item).title)
    end
    for i, item in ipairs(items) do
      if (item.action or item[2] or item).title:match("wrong$") then
        return on_choice(item, i)
      end
    end
    return on_choice(nil, nil)
  end
  on_choice(pick and items[pick] or nil, pick)
end

local crlhf
local bufnr
local judged = {} -- buffer line numbers (1-based) of judged lines
local first -- buffer line of the first code line

local function setup()
  vim.g.mapleader = " "
  vim.o.lines = 120 -- every line of the task on screen, so every hint is drawn
  vim.opt.rtp:prepend(vim.env.CRLHF_TEST_REPO .. "/editors/neovim")
  crlhf = require("crlhf")
  assert(crlhf.setup({
    cmd = { vim.env.CRLHF_TEST_PYTHON, "-m", "crlhf_lsp" },
    server = vim.env.CRLHF_TEST_SERVER,
    token = vim.env.CRLHF_TEST_TOKEN,
    tasks_dir = vim.env.CRLHF_TEST_TASKS,
  }))
end

local function attached()
  bufnr = vim.api.nvim_get_current_buf()
  return vim.api.nvim_buf_get_name(bufnr):match("%.py$") ~= nil
    and #vim.lsp.get_clients({ bufnr = bufnr, name = "crlhf" }) > 0
end

local function read_layout()
  local lines = vim.api.nvim_buf_get_lines(bufnr, 0, -1, false)
  judged = {}
  for i, text in ipairs(lines) do
    if text:match("^# %-%-%- crlhf:") then
      first = i + 1
    end
  end
  for i = first, #lines do
    if lines[i]:match("%S") then
      table.insert(judged, i)
    end
  end
end

local function sample(line)
  return line - first + 1
end

-- Run an async plugin function and wait for its answer.
local function call(what, fn, ...)
  local answer
  local args = { ... }
  fn(function(err, result)
    answer = { err = err, result = result }
  end, unpack(args))
  wait(what, function()
    return answer ~= nil
  end)
  return answer
end

local hint_ns = vim.api.nvim_create_namespace("nvim.lsp.inlayhint")

-- The hints Neovim has drawn: buffer line (1-based) -> text.
local function drawn()
  vim.cmd("redraw")
  local found = {}
  for _, mark in ipairs(vim.api.nvim_buf_get_extmarks(bufnr, hint_ns, 0, -1, { details = true })) do
    local text = {}
    for _, chunk in ipairs(mark[4].virt_text or {}) do
      if chunk[1] ~= " " then
        table.insert(text, chunk[1])
      end
    end
    found[mark[2] + 1] = table.concat(text)
  end
  return found
end

-- Do the drawn hints show exactly `marks` (buffer line -> "wrong" | "correct")?
-- `crowd`: every judged line also shows the crowd's consensus; `status`: the header line's.
local function hints_match(marks, crowd, status)
  local shown = drawn()
  for _, line in ipairs(judged) do
    local text = shown[line] or ""
    local want = marks[line]
    if want == "wrong" and not text:match("^✗ wrong") then
      return false
    elseif want == "correct" and not text:match("^✓ correct") then
      return false
    elseif want == nil and (text:match("wrong") or text:match("correct")) then
      return false
    end
    if crowd and not text:match("crowd %d") then
      return false
    end
  end
  local header = shown[first - 1] or ""
  if status then
    return header:match(status) ~= nil
  end
  return header == ""
end

local checks = 0
local function expect_hints(what, marks, crowd, status)
  wait("drawn hints after " .. what, function()
    return hints_match(marks, crowd, status)
  end, function()
    return vim.inspect({
      drawn = drawn(),
      expected = marks,
      judged = judged,
      data = vim.tbl_map(function(h)
        return { h.inlay_hint.position.line, h.inlay_hint.label }
      end, vim.lsp.inlay_hint.get({ bufnr = bufnr })),
      enabled = vim.lsp.inlay_hint.is_enabled({ bufnr = bufnr }),
      diagnostics = #vim.diagnostic.get(bufnr),
    })
  end)
  checks = checks + 1
end

local function feed(keys)
  vim.api.nvim_feedkeys(vim.api.nvim_replace_termcodes(keys, true, false, true), "mx", false)
end

local function count_messages()
  return #messages
end

local function phase_mark()
  setup()
  local answer = call("crlhf.nextTask", crlhf.next_task)
  assert(answer.err == nil, vim.inspect(answer.err))
  wait("the task buffer with crlhf attached", attached)
  read_layout()
  local result = { sample_id = answer.result.sampleId }

  -- An empty submit asks first; "Cancel" sends nothing.
  choices = { 2 }
  local empty = call("crlhf.submit (cancelled)", crlhf.submit)
  assert(empty.err and empty.err.data.code == "cancelled", vim.inspect(empty))
  result.empty_prompt = prompts[#prompts]

  -- 1. The first judged line: wrong, through Neovim's code-action menu.
  vim.api.nvim_win_set_cursor(0, { judged[1], 0 })
  choices = { "code action: wrong" }
  vim.lsp.buf.code_action()
  local marks = { [judged[1]] = "wrong" }
  expect_hints("a code action", marks)
  result.code_action_titles = titles
  result.cursor_line = judged[1]

  -- 2. The last judged line: wrong, through the normal-mode key map.
  vim.api.nvim_win_set_cursor(0, { judged[#judged], 0 })
  feed(" aw")
  marks[judged[#judged]] = "wrong"
  expect_hints("the key map", marks)

  -- 3. The second and third judged lines: correct, through a visual selection.
  vim.api.nvim_win_set_cursor(0, { judged[2], 0 })
  feed("V" .. (judged[3] - judged[2]) .. "j" .. " ac")
  marks[judged[2]], marks[judged[3]] = "correct", "correct"
  expect_hints("a visual selection", marks)

  -- 4. Clear the second line's mark: no stale hint stays behind.
  vim.api.nvim_win_set_cursor(0, { judged[2], 0 })
  feed(" ax")
  marks[judged[2]] = nil
  expect_hints("a clear", marks)

  -- 5. A mark on the header: one message, in editor line numbers.
  local before = count_messages()
  vim.api.nvim_win_set_cursor(0, { 1, 0 })
  local header = call("a mark on the header", crlhf.mark_wrong)
  assert(header.err ~= nil)
  wait("the header message", function()
    return count_messages() > before
  end)
  vim.wait(200)
  result.header_messages = vim.list_slice(messages, before + 1)

  -- 6. Edit the file: the refusal to submit is readable in place (virtual text), no float.
  vim.api.nvim_buf_set_lines(bufnr, first - 1, first - 1, false, { "import os" })
  local function edited_text()
    vim.cmd("redraw")
    for _, mark in ipairs(vim.api.nvim_buf_get_extmarks(bufnr, -1, 0, -1, { details = true })) do
      for _, chunk in ipairs(mark[4].virt_text or {}) do
        if chunk[1]:match("file was edited") then
          return chunk[1]
        end
      end
    end
  end
  wait("the inline 'file was edited' message", function()
    return edited_text() ~= nil
  end)
  result.edited_text = edited_text()
  vim.cmd("silent undo")
  wait("the message gone after undo", function()
    return edited_text() == nil
  end)

  result.expected_wrong = { sample(judged[1]), sample(judged[#judged]) }
  result.expected_correct = { sample(judged[3]) }
  result.judged = vim.tbl_map(sample, judged)
  result.task_file = vim.api.nvim_buf_get_name(bufnr)
  result.maps_in_task_buffer = vim.fn.maparg(" aw", "n") ~= ""
  vim.cmd("enew")
  result.maps_in_other_buffer = vim.fn.maparg(" aw", "n") ~= ""
  return result
end

local function phase_submit()
  setup()
  local path = vim.env.CRLHF_TEST_TASK_FILE
  vim.cmd("edit " .. vim.fn.fnameescape(path))
  wait("the reopened task buffer with crlhf attached", attached)
  read_layout()
  local result = {}
  local marks = { [judged[1]] = "wrong", [judged[#judged]] = "wrong", [judged[3]] = "correct" }
  expect_hints("reopening (marks restored)", marks)

  -- Submit: every judged line shows your vote, the crowd's consensus and the status.
  local before = count_messages()
  local submitted = call("crlhf.submit", crlhf.submit)
  assert(submitted.err == nil, vim.inspect(submitted.err))
  result.submitted = submitted.result
  for _, line in ipairs(judged) do
    marks[line] = marks[line] or "correct"
  end
  expect_hints("submit", marks, true, "submitted, revision 1")
  result.submit_messages = vim.list_slice(messages, before + 1)

  -- Your mark and the crowd's consensus have distinct signs.
  local client = vim.lsp.get_clients({ bufnr = bufnr, name = "crlhf" })[1]
  local ns = vim.lsp.diagnostic.get_namespace(client.id)
  local signs = {}
  for _, mark in ipairs(vim.api.nvim_buf_get_extmarks(bufnr, -1, 0, -1, { details = true })) do
    local text = mark[4].sign_text
    if text and mark[2] + 1 == judged[1] then
      table.insert(signs, vim.trim(text))
    end
  end
  result.signs_on_first_line = signs
  result.diagnostic_namespace = ns

  -- A plain submit again is refused with the revise hint, in one message.
  before = count_messages()
  local again = call("crlhf.submit (again)", crlhf.submit)
  assert(again.err ~= nil, "a second plain submit must be refused")
  vim.wait(200)
  result.resubmit_messages = vim.list_slice(messages, before + 1)

  -- Revise: the first line is correct after all.
  vim.api.nvim_win_set_cursor(0, { judged[1], 0 })
  feed(" ac")
  marks[judged[1]] = "correct"
  expect_hints("a mark after submitting", marks, true, "submitted, revision 1")
  vim.cmd("Crlhf revise")
  expect_hints("revise", marks, true, "submitted, revision 2")

  -- :Crlhf status, then :Crlhf next and an empty submit approved at its confirmation.
  before = count_messages()
  vim.cmd("Crlhf status")
  wait(":Crlhf status", function()
    return count_messages() > before
  end)
  result.status_message = messages[#messages].message
  local first_buf = bufnr
  vim.cmd("Crlhf next")
  wait("the next task", function()
    return attached() and bufnr ~= first_buf
  end)
  choices = { 1 }
  local approved = call("crlhf.submit (approve all)", crlhf.submit)
  assert(approved.err == nil, vim.inspect(approved.err))
  result.approved = approved.result
  result.checks = checks
  return result
end

local ok, result = xpcall(function()
  local r = phase == "mark" and phase_mark() or phase_submit()
  r.nvim = tostring(vim.version())
  r.clients = #vim.lsp.get_clients({ name = "crlhf" })
  r.messages = messages
  r.prompts = prompts
  return r
end, debug.traceback)
if ok then
  write(result)
  vim.cmd("qall!")
else
  write({ error = result, messages = messages })
  vim.cmd("cquit! 1")
end
