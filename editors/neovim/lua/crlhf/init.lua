-- crlhf for Neovim: annotate generated code line by line through crlhf-lsp.
--
--   require("crlhf").setup({ server = "http://127.0.0.1:8000", token = "..." })
--
-- Neovim 0.11+ registers the server with vim.lsp.config / vim.lsp.enable; 0.8-0.10 start
-- it with vim.lsp.start from a FileType autocmd. Either way the client attaches only to
-- task files (inside the tasks directory), never to the rest of your Python.
local M = {}

local defaults = {
  cmd = { "crlhf-lsp" },
  -- nil: crlhf-lsp falls back to $CRLHF_SERVER / $CRLHF_TOKEN / the crlhf config file.
  server = nil,
  token = nil,
  -- nil: $CRLHF_CACHE_DIR/tasks, else the platform cache dir (the server's default too).
  tasks_dir = nil,
  inlay_hints = true,
  keys = {
    next_task = "<leader>an",
    mark_wrong = "<leader>aw",
    mark_correct = "<leader>ac",
    clear = "<leader>ax",
    submit = "<leader>as",
    sync = "<leader>ay",
    consensus = "<leader>ap",
  },
}

M.options = vim.deepcopy(defaults)

local NAME = "crlhf"
local has_011 = vim.fn.has("nvim-0.11") == 1

local function default_tasks_dir()
  local base = vim.env.CRLHF_CACHE_DIR
  if base == nil or base == "" then
    local uname = (vim.uv or vim.loop).os_uname().sysname
    if uname == "Darwin" then
      base = vim.fn.expand("~/Library/Caches/crlhf")
    elseif uname:match("Windows") then
      base = (vim.env.LOCALAPPDATA or vim.fn.expand("~")) .. "/crlhf/Cache"
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

local function is_task_buffer(bufnr)
  local name = vim.api.nvim_buf_get_name(bufnr)
  if name == "" then
    return false
  end
  local dir = tasks_dir()
  local path = vim.fs.normalize(vim.fn.fnamemodify(name, ":p"))
  return path:sub(1, #dir + 1) == dir .. "/"
end

local function client_config()
  local dir = tasks_dir()
  return {
    name = NAME,
    cmd = M.options.cmd,
    root_dir = dir,
    init_options = { server = M.options.server, token = M.options.token, tasksDir = dir },
    on_attach = function(_, bufnr)
      if M.options.inlay_hints and vim.lsp.inlay_hint then
        pcall(vim.lsp.inlay_hint.enable, true, { bufnr = bufnr })
      end
    end,
  }
end

--- The running crlhf client, started (unattached) when there is none yet.
function M.client()
  local get = vim.lsp.get_clients or vim.lsp.get_active_clients
  local found = get({ name = NAME })[1]
  if found then
    return found
  end
  local id
  if has_011 then
    id = vim.lsp.start(client_config(), { attach = false })
  else
    id = vim.lsp.start_client(client_config())
  end
  local client = id and vim.lsp.get_client_by_id(id)
  if not client then
    vim.notify("crlhf: could not start " .. table.concat(M.options.cmd, " "), vim.log.levels.ERROR)
  end
  return client
end

--- Run a crlhf-lsp command; `on_done(err, result)` gets the answer.
function M.execute(command, arguments, on_done)
  local client = M.client()
  if not client then
    return
  end
  local params = { command = command, arguments = arguments or {} }
  local function handler(err, result)
    if err then
      vim.notify("crlhf: " .. (err.message or vim.inspect(err)), vim.log.levels.ERROR)
    end
    if on_done then
      on_done(err, result)
    end
  end
  local bufnr = vim.api.nvim_get_current_buf()
  if has_011 then
    client:request("workspace/executeCommand", params, handler, bufnr)
  else
    client.request("workspace/executeCommand", params, handler, bufnr)
  end
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
  return function(on_done)
    local first, last = current_lines()
    M.execute(command, { vim.uri_from_bufnr(0), first, last }, on_done)
  end
end

M.mark_wrong = mark("crlhf.markWrong")
M.mark_correct = mark("crlhf.markCorrect")
M.clear = mark("crlhf.clearMark")

function M.next_task(on_done)
  M.execute("crlhf.nextTask", {}, on_done)
end

function M.submit(on_done)
  M.execute("crlhf.submit", { vim.uri_from_bufnr(0) }, on_done)
end

function M.sync(on_done)
  M.execute("crlhf.sync", {}, on_done)
end

function M.consensus(on_done)
  M.execute("crlhf.showConsensus", { vim.uri_from_bufnr(0) }, on_done)
end

local function set_keys()
  local keys = M.options.keys or {}
  local map = function(lhs, fn, desc, modes)
    if lhs then
      vim.keymap.set(modes or "n", lhs, function()
        fn()
      end, { desc = "crlhf: " .. desc })
    end
  end
  map(keys.next_task, M.next_task, "next task")
  map(keys.mark_wrong, M.mark_wrong, "mark line(s) wrong", { "n", "x" })
  map(keys.mark_correct, M.mark_correct, "mark line(s) correct", { "n", "x" })
  map(keys.clear, M.clear, "clear mark(s)", { "n", "x" })
  map(keys.submit, M.submit, "submit this sample")
  map(keys.sync, M.sync, "send queued submissions")
  map(keys.consensus, M.consensus, "show the crowd's consensus")
end

function M.setup(opts)
  M.options = vim.tbl_deep_extend("force", vim.deepcopy(defaults), opts or {})
  if has_011 then
    local config = client_config()
    config.filetypes = { "python" }
    config.root_dir = function(bufnr, on_dir)
      if is_task_buffer(bufnr) then
        on_dir(tasks_dir())
      end
    end
    vim.lsp.config(NAME, config)
    vim.lsp.enable(NAME)
  else
    vim.api.nvim_create_autocmd("FileType", {
      group = vim.api.nvim_create_augroup("crlhf", { clear = true }),
      pattern = "python",
      callback = function(args)
        if is_task_buffer(args.buf) then
          vim.lsp.start(client_config(), { bufnr = args.buf })
        end
      end,
    })
  end
  set_keys()
end

return M
