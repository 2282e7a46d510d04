-- forward-hit: one cached 1 KiB object requested through a forward proxy in absolute-form, as a
-- browser configured with the proxy sends it. FORWARD_ORIGIN is the origin's host:port.
local origin = os.getenv("FORWARD_ORIGIN")

request = function()
  return wrk.format("GET", "http://" .. origin .. "/1k.bin", { ["Host"] = origin })
end
