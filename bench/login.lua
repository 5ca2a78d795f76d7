-- wrk script: a login storm, POSTing the OAuth2 password form of BENCH_USERNAME / BENCH_PASSWORD
-- to the URL's path (hero-api: /auth/token).

local function urlencode(text)
  return (text:gsub("[^%w%-%._~]", function(char)
    return string.format("%%%02X", string.byte(char))
  end))
end

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.body = "username=" .. urlencode(os.getenv("BENCH_USERNAME") or "")
  .. "&password=" .. urlencode(os.getenv("BENCH_PASSWORD") or "")
