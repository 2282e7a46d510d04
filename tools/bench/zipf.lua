-- working-set: 10,000 URLs /ws/<n>.bin drawn Zipf-distributed (s = 1.0), the same sequence on
-- every run, so every system sees the same requests.
local count = 10000
local cdf, total = {}, 0
for rank = 1, count do total = total + 1 / rank; cdf[rank] = total end
for rank = 1, count do cdf[rank] = cdf[rank] / total end
math.randomseed(42)

request = function()
  local u = math.random()
  local low, high = 1, count
  while low < high do
    local middle = math.floor((low + high) / 2)
    if cdf[middle] < u then low = middle + 1 else high = middle end
  end
  return wrk.format("GET", "/ws/" .. (low - 1) .. ".bin")
end
