-- forward-miss: every request a new URL through a forward proxy (absolute-form), so every request
-- is a lookup, an origin fetch and a store. FORWARD_ORIGIN is the origin's host:port.
local origin = os.getenv("FORWARD_ORIGIN")
math.randomseed(os.time() + math.floor(os.clock() * 1000000))
local prefix = tostring(os.time()) .. "-" .. tostring(math.random(1, 1000000000))
local counter = 0

request = function()
  counter = counter + 1
  return wrk.format("GET", "http://" .. origin .. "/1k.bin?miss=" .. prefix .. "-" .. counter, { ["Host"] = origin })
end
