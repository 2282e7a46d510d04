-- miss: every request a new query string, so every request takes the fill path
-- (lookup, origin fetch, store). The prefix keeps runs apart.
math.randomseed(os.time() + math.floor(os.clock() * 1000000))
local prefix = tostring(os.time()) .. "-" .. tostring(math.random(1, 1000000000))
local counter = 0

request = function()
  counter = counter + 1
  return wrk.format("GET", "/1k.bin?miss=" .. prefix .. "-" .. counter)
end
