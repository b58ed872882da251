-- crlhf for Neovim: annotate generated code line by line through crlhf-lsp.
--
--   require("crlhf").setup({ server = "http://127.0.0.1:8000", token = "..." })
--
-- Needs Neovim 0.11+ (vim.lsp.config / vim.lsp.enable); setup() says so in one line on an
-- older one. The client attaches only to task files (inside the tasks directory), and the
-- key maps exist only in those buffers; :Crlhf works everywhere. See :help crlhf.
--
-- Nothing above setup() may touch an API newer than Neovim 0.7, so that an old Neovim
-- loads this file and gets the one-line message instead of a stack trace.
local M = {}

M.MIN_VERSION = { 0, 11, 0 }

local defaults = {
  cmd = { "crlhf-lsp" },
  -- nil: crlhf-lsp falls back to $CRLHF_SERVER / $CRLHF_TOKEN / the crlhf config file.
  server = nil,
  token = nil,
  -- nil: $CRLHF_CACHE_DIR/tasks, else the platform cache dir (the server's default too).
  tasks_dir = nil,
  inlay_hints = true,
  -- Buffer-local maps in task buffers; set one to false to leave it out.
  keys = {
    next_task = "<leader>an",
    mark_wrong = "<leader>aw",
    mark_correct = "<leader>ac",
    clear = "<leader>ax",
    submit = "<leader>as",
    revise = "<leader>ar",
    skip = "<leader>ak",
    sync = "<leader>ay",
    consensus = "<leader>ap",
    status = "<leader>ai",
  },
  -- Sign column text: your own marks, and the crowd's consensus after you submit.
  signs = { wrong = "✗", correct = "✓", consensus = "≈", edited = "!" },
}

M.options = vim.deepcopy(defaults)

local NAME = "crlhf"

local function notify(message, level)
  if not message:match("^crlhf") then
    message = "crlhf: " .. message
  end
  vim.notify(message, level or vim.log.levels.INFO)
end

--- The running Neovim is new enough; otherwise say so once, in one line.
function M.check_version()
  local v = vim.version()
  local have = { v.major, v.minor, v.patch }
  for i = 1, 3 do
    if have[i] ~= M.MIN_VERSION[i] then
      if have[i] > M.MIN_VERSION[i] then
        return true
      end
      notify(
        string.format(
          "crlhf needs Neovim %d.%d or newer; this is %d.%d.%d (see :help crlhf)",
          M.MIN_VERSION[1],
          M.MIN_VERSION[2],
          have[1],
          have[2],
          have[3]
        ),
        vim.log.levels.ERROR
      )
      return false
    end
  end
  return true
end

local function default_tasks_dir()
  local base = vim.env.CRLHF_CACHE_DIR
  if base == nil or base == "" then
    local uname = vim.uv.os_uname().sysname
    if uname == "Darwin" then
      base = vim.fn.expand("~/Library/Caches/crlhf")
    elseif uname:match("Windows") then
      base = (vim.env.LOCALAPPDATA or vim.fn.expand("~")) .. "/crlhf/crlhf/Cache"
    else
      local xdg = vim.env.XDG_CACHE_HOME
      base = ((xdg ~= nil and xdg ~= "") and xdg or vim.fn.expand("~/.cache")) .. "/crlhf"
    end
  end
  return base .. "/tasks"
end

local function tasks_dir()
  return vim.fs.normalize(M.options.tasks_dir or default_tasks_dir())
end

--- Is this buffer a crlhf task file (a file inside the tasks directory)?
function M.is_task_buffer(bufnr)
  local name = vim.api.nvim_buf_get_name(bufnr)
  if name == "" then
    return false
  end
  local dir = tasks_dir()
  local path = vim.fs.normalize(vim.fn.fnamemodify(name, ":p"))
  return path:sub(1, #dir + 1) == dir .. "/"
end

-- workspace/inlayHint/refresh: Neovim's own handler clears the lines it drew but keeps
-- the hints it had; a redraw between the refresh and the answer marks those stale hints
-- as drawn, and the new ones (same buffer version) are never drawn. Re-enabling resets
-- the buffer's hint state, so nothing is drawn until the fresh answer arrives.
local function on_inlay_hint_refresh(err, _, ctx)
  if err then
    return vim.NIL
  end
  for _, bufnr in ipairs(vim.lsp.get_buffers_by_client_id(ctx.client_id)) do
    if vim.lsp.inlay_hint.is_enabled({ bufnr = bufnr }) then
      vim.lsp.inlay_hint.enable(true, { bufnr = bufnr })
    end
  end
  return vim.NIL
end

-- window/showMessage: one notification per message, without a second "crlhf:" prefix.
local function on_show_message(_, params)
  local levels = { vim.log.levels.ERROR, vim.log.levels.WARN, vim.log.levels.INFO }
  notify(params.message, levels[params.type] or vim.log.levels.INFO)
  return vim.NIL
end

local function set_diagnostic_look(client)
  local severity = vim.diagnostic.severity
  local signs = M.options.signs
  vim.diagnostic.config({
    signs = {
      text = {
        [severity.ERROR] = signs.edited,
        [severity.WARN] = signs.wrong,
        [severity.HINT] = signs.correct,
        [severity.INFO] = signs.consensus,
      },
    },
    -- The one Error (the file was edited) is readable in place, without opening a float.
    virtual_text = { severity = severity.ERROR },
    severity_sort = true,
  }, vim.lsp.diagnostic.get_namespace(client.id))
end

local function client_config()
  local dir = tasks_dir()
  return {
    name = NAME,
    cmd = M.options.cmd,
    root_dir = dir,
    init_options = {
      server = M.options.server,
      token = M.options.token,
      tasksDir = dir,
      editor = "neovim",
    },
    handlers = {
      ["workspace/inlayHint/refresh"] = on_inlay_hint_refresh,
      ["window/showMessage"] = on_show_message,
    },
    on_attach = function(client, bufnr)
      set_diagnostic_look(client)
      if M.options.inlay_hints then
        vim.lsp.inlay_hint.enable(true, { bufnr = bufnr })
      end
      for _, win in ipairs(vim.fn.win_findbuf(bufnr)) do
        vim.wo[win].signcolumn = "auto:2" -- your mark and the crowd's, side by side
      end
      M.set_keys(bufnr)
    end,
  }
end

--- The running crlhf client, started (unattached) when there is none yet.
function M.client()
  if not M.ready then
    notify("call require('crlhf').setup() first (:help crlhf)", vim.log.levels.ERROR)
    return nil
  end
  local found = vim.lsp.get_clients({ name = NAME })[1]
  if found then
    return found
  end
  local id = vim.lsp.start(client_config(), { attach = false })
  local client = id and vim.lsp.get_client_by_id(id)
  if not client then
    notify(
      "could not start " .. table.concat(M.options.cmd, " ") .. "; is crlhf-lsp installed? (:help crlhf)",
      vim.log.levels.ERROR
    )
  end
  return client
end

--- Run a crlhf-lsp command; `on_done(err, result)` gets the answer.
---
--- The server shows its own message for a failed command (`err.data.shown`); only what it
--- did not show is shown here, so each event gives one message.
function M.execute(command, arguments, on_done)
  local client = M.client()
  if not client then
    return
  end
  local params = { command = command, arguments = arguments or {} }
  local function handler(err, result)
    local data = err and type(err.data) == "table" and err.data or {}
    if err and data.code == "empty_submission" then
      return M.confirm_empty(command, arguments, on_done)
    end
    if err and not data.shown then
      notify(err.message or vim.inspect(err), vim.log.levels.ERROR)
    end
    if on_done then
      on_done(err, result)
    end
  end
  client:request("workspace/executeCommand", params, handler, vim.api.nvim_get_current_buf())
end

--- Nothing is marked: ask before recording every line correct.
function M.confirm_empty(command, arguments, on_done)
  local approve = "Approve all: every line is correct"
  vim.ui.select({ approve, "Cancel" }, {
    prompt = "crlhf: no line is marked. Submit every line as correct?",
  }, function(choice)
    if choice == approve then
      M.execute(command, { arguments[1], { approveAll = true } }, on_done)
    elseif on_done then
      on_done({ message = "cancelled", data = { code = "cancelled" } }, nil)
    end
  end)
end

--- The current line, or the lines of the visual selection (0-based, inclusive).
local function current_lines()
  local mode = vim.fn.mode()
  if mode == "v" or mode == "V" or mode == "\22" then
    local a, b = vim.fn.line("v"), vim.fn.line(".")
    vim.api.nvim_feedkeys(vim.api.nvim_replace_termcodes("<Esc>", true, false, true), "n", false)
    return math.min(a, b) - 1, math.max(a, b) - 1
  end
  local line = vim.api.nvim_win_get_cursor(0)[1] - 1
  return line, line
end

local function mark(command)
  return function(on_done, first, last)
    if first == nil then
      first, last = current_lines()
    end
    M.execute(command, { vim.uri_from_bufnr(0), first, last }, on_done)
  end
end

M.mark_wrong = mark("crlhf.markWrong")
M.mark_correct = mark("crlhf.markCorrect")
M.clear = mark("crlhf.clearMark")

local function on_buffer(command)
  return function(on_done)
    M.execute(command, { vim.uri_from_bufnr(0) }, on_done)
  end
end

M.submit = on_buffer("crlhf.submit")
M.revise = on_buffer("crlhf.revise")
M.skip = on_buffer("crlhf.skip")
M.consensus = on_buffer("crlhf.showConsensus")

function M.next_task(on_done)
  M.execute("crlhf.nextTask", {}, on_done)
end

function M.sync(on_done)
  M.execute("crlhf.sync", {}, on_done)
end

function M.status(on_done)
  local args = M.is_task_buffer(0) and { vim.uri_from_bufnr(0) } or {}
  M.execute("crlhf.status", args, function(err, result)
    if not err and result then
      notify(result.text)
    end
    if on_done then
      on_done(err, result)
    end
  end)
end

--- Buffer-local key maps for one task buffer.
function M.set_keys(bufnr)
  local keys = M.options.keys or {}
  local map = function(lhs, fn, desc, modes)
    if lhs then
      vim.keymap.set(modes or "n", lhs, function()
        fn()
      end, { buffer = bufnr, desc = "crlhf: " .. desc })
    end
  end
  map(keys.next_task, M.next_task, "next task")
  map(keys.mark_wrong, M.mark_wrong, "mark line(s) wrong", { "n", "x" })
  map(keys.mark_correct, M.mark_correct, "mark line(s) correct", { "n", "x" })
  map(keys.clear, M.clear, "clear mark(s)", { "n", "x" })
  map(keys.submit, M.submit, "submit this sample")
  map(keys.revise, M.revise, "revise: replace your submission with these marks")
  map(keys.skip, M.skip, "skip this sample")
  map(keys.sync, M.sync, "send queued submissions")
  map(keys.consensus, M.consensus, "show the crowd's consensus")
  map(keys.status, M.status, "status of this task")
end

M.subcommands = {
  next = M.next_task,
  submit = M.submit,
  revise = M.revise,
  skip = M.skip,
  sync = M.sync,
  status = M.status,
  consensus = M.consensus,
}

local function task_only(name)
  return name ~= "next" and name ~= "sync" and name ~= "status"
end

local function crlhf_command(opts)
  local name = opts.fargs[1] or "status"
  local run = M.subcommands[name]
  if not run then
    local names = vim.tbl_keys(M.subcommands)
    table.sort(names)
    return notify(
      string.format("unknown :Crlhf %s; one of: %s", name, table.concat(names, ", ")),
      vim.log.levels.ERROR
    )
  end
  if task_only(name) and not M.is_task_buffer(0) then
    return notify(
      string.format(":Crlhf %s works in a task buffer; :Crlhf next opens one", name),
      vim.log.levels.WARN
    )
  end
  run()
end

function M.setup(opts)
  if not M.check_version() then
    return false
  end
  M.ready = true
  M.options = vim.tbl_deep_extend("force", vim.deepcopy(defaults), opts or {})
  local config = client_config()
  config.filetypes = { "python" }
  config.root_dir = function(bufnr, on_dir)
    if M.is_task_buffer(bufnr) then
      on_dir(tasks_dir())
    end
  end
  vim.lsp.config(NAME, config)
  vim.lsp.enable(NAME)
  vim.api.nvim_create_user_command("Crlhf", crlhf_command, {
    nargs = "?",
    desc = "crlhf: next | submit | revise | skip | sync | status | consensus",
    complete = function(lead)
      local names = vim.tbl_keys(M.subcommands)
      table.sort(names)
      return vim.tbl_filter(function(n)
        return n:sub(1, #lead) == lead
      end, names)
    end,
  })
  return true
end

return M
