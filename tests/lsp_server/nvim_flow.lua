-- Drives headless Neovim through the crlhf plugin against a real crlhf-lsp and crlhf
-- server: next task, a mark through Neovim's own code-action menu, marks through the key
-- maps (normal and visual mode), submit. Writes what it saw as JSON to $CRLHF_TEST_OUT.
-- Run by test_neovim.py; not a test on its own.
local out = assert(vim.env.CRLHF_TEST_OUT)

local function write(result)
  local file = assert(io.open(out, "w"))
  file:write(vim.json.encode(result))
  file:close()
end

local function wait(what, predicate)
  if not vim.wait(30000, predicate, 20) then
    error("timed out waiting for " .. what)
  end
end

local function run()
  vim.g.mapleader = " "
  vim.opt.rtp:prepend(vim.env.CRLHF_TEST_REPO .. "/editors/neovim")
  local crlhf = require("crlhf")
  crlhf.setup({
    cmd = { vim.env.CRLHF_TEST_PYTHON, "-m", "crlhf_lsp" },
    server = vim.env.CRLHF_TEST_SERVER,
    token = vim.env.CRLHF_TEST_TOKEN,
    tasks_dir = vim.env.CRLHF_TEST_TASKS,
  })

  local answer
  crlhf.next_task(function(err, result)
    answer = { err = err, result = result }
  end)
  wait("crlhf.nextTask", function()
    return answer ~= nil
  end)
  assert(answer.err == nil, vim.inspect(answer.err))
  local bufnr
  wait("the task buffer with crlhf attached", function()
    bufnr = vim.api.nvim_get_current_buf()
    local get = vim.lsp.get_clients or vim.lsp.get_active_clients
    return vim.api.nvim_buf_get_name(bufnr):match("%.py$") ~= nil
      and #get({ bufnr = bufnr, name = "crlhf" }) > 0
  end)

  local lines = vim.api.nvim_buf_get_lines(bufnr, 0, -1, false)
  local first
  for i, text in ipairs(lines) do
    if text:match("^# %-%-%- crlhf:") then
      first = i + 1
    end
  end
  local judged = {} -- buffer line numbers (1-based) of judged lines
  for i = first, #lines do
    if lines[i]:match("%S") then
      table.insert(judged, i)
    end
  end
  local function sample(line)
    return line - first + 1
  end
  local function count_diagnostics()
    return #vim.diagnostic.get(bufnr, { namespace = nil })
  end

  -- 1. The first judged line: wrong, through Neovim's code-action menu.
  vim.api.nvim_win_set_cursor(0, { judged[1], 0 })
  local titles = {}
  vim.ui.select = function(items, opts, on_choice)
    for i, item in ipairs(items) do
      local action = item.action or item[2] or item
      table.insert(titles, action.title)
      if action.title:match("wrong$") then
        return on_choice(item, i)
      end
    end
    on_choice(nil, nil)
  end
  vim.lsp.buf.code_action()
  wait("a diagnostic for the code action's mark", function()
    return count_diagnostics() == 1
  end)

  -- 2. The last judged line: wrong, through the normal-mode key map.
  vim.api.nvim_win_set_cursor(0, { judged[#judged], 0 })
  vim.api.nvim_feedkeys(vim.api.nvim_replace_termcodes(" aw", true, false, true), "mx", false)
  wait("a diagnostic for the key map's mark", function()
    return count_diagnostics() == 2
  end)

  -- 3. The second and third judged lines: correct, through a visual selection.
  vim.api.nvim_win_set_cursor(0, { judged[2], 0 })
  local down = judged[3] - judged[2]
  local keys = "V" .. down .. "j" .. " ac"
  vim.api.nvim_feedkeys(vim.api.nvim_replace_termcodes(keys, true, false, true), "mx", false)
  wait("diagnostics for the visual selection", function()
    return count_diagnostics() == 4
  end)

  local submitted
  vim.api.nvim_win_set_cursor(0, { 1, 0 })
  crlhf.submit(function(err, result)
    submitted = { err = err, result = result }
  end)
  wait("crlhf.submit", function()
    return submitted ~= nil
  end)
  assert(submitted.err == nil, vim.inspect(submitted.err))
  wait("the crowd's consensus", function()
    for _, d in ipairs(vim.diagnostic.get(bufnr)) do
      if d.message:match("crowd") then
        return true
      end
    end
    return false
  end)

  local judged_sample = {}
  for _, line in ipairs(judged) do
    table.insert(judged_sample, sample(line))
  end
  local hints = 0
  if vim.lsp.inlay_hint and vim.lsp.inlay_hint.get then
    hints = #vim.lsp.inlay_hint.get({ bufnr = bufnr })
  end
  return {
    nvim = tostring(vim.version()),
    sample_id = answer.result.sampleId,
    judged = judged_sample,
    expected_wrong = { sample(judged[1]), sample(judged[#judged]) },
    expected_correct = { sample(judged[2]), sample(judged[3]) },
    submitted = submitted.result,
    code_action_titles = titles,
    inlay_hints = hints,
  }
end

local ok, result = xpcall(run, debug.traceback)
if ok then
  write(result)
  vim.cmd("qall!")
else
  write({ error = result })
  vim.cmd("cquit! 1")
end
