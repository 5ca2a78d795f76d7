-- wrk script: GET BENCH_PATH ("{id}" -> random id in 1..BENCH_ID_MAX), with a bearer token
-- from a random line of BENCH_TOKEN_FILE when it is set.

local path_template = os.getenv("BENCH_PATH") or "/heroes/{id}"
local id_max = tonumber(os.getenv("BENCH_ID_MAX") or "1")
local tokens = {}
local thread_counter = 0

local function read_tokens()
  local file_path = os.getenv("BENCH_TOKEN_FILE")
  if not file_path or file_path == "" then
    return
  end
  local file = assert(io.open(file_path, "r"), "cannot open BENCH_TOKEN_FILE " .. file_path)
  for line in file:lines() do
    if line ~= "" then
      tokens[#tokens + 1] = line
    end
  end
  file:close()
  assert(#tokens > 0, "no token in BENCH_TOKEN_FILE " .. file_path)
end

function setup(thread)
  thread_counter = thread_counter + 1
  thread:set("thread_number", thread_counter)
end

function init(args)
  math.randomseed(os.time() * 1000 + (thread_number or 0))
  read_tokens()
end

function request()
  local path = path_template:gsub("{id}", tostring(math.random(1, id_max)))
  local headers = {}
  if #tokens > 0 then
    headers["Authorization"] = "Bearer " .. tokens[math.random(#tokens)]
  end
  return wrk.format("GET", path, headers)
end
