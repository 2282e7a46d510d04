// Policy evaluation per request: the reuse verdict for a stored response (with its facts derived
// on the spot, and precomputed as the hit path has them), the storage decision for a response,
// and choosing the rule settings for a request.
import Benchmark
import CachePolicy

func policyBenchmarks() {
    let cached = Fixtures.cached
    let request = Fixtures.request
    let response = Fixtures.response
    let settings = Fixtures.settings
    let now = Fixtures.now
    let facts = ReuseFacts(cached: cached, settings: settings)

    Benchmark("Policy: Reuse.verdict, facts derived") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(Reuse.verdict(cached: cached, request: request, settings: settings, now: now))
        }
    }

    Benchmark("Policy: Reuse.verdict, precomputed ReuseFacts") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(Reuse.verdict(cached: cached, facts: facts, request: request, settings: settings, now: now))
        }
    }

    Benchmark("Policy: ReuseFacts.init (once per store)") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(ReuseFacts(cached: cached, settings: settings))
        }
    }

    Benchmark("Policy: Storability.decide, cacheable 200") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(Storability.decide(
                method: "GET", request: request, status: 200, response: response,
                responseTime: Fixtures.responseTime, settings: settings))
        }
    }

    Benchmark("Policy: rule settings for host and path (default rules)") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(Fixtures.rules.settings(host: "www.example.com", path: "/assets/app.js"))
        }
    }
}
