// Key normalisation: the primary key of a plain path and of a query that needs tracking
// parameters dropped and sorting (the default rules), and the secondary key of a request for a
// response with Vary: Accept-Encoding (normalised to one coding) and with two Vary'd fields.
import Benchmark
import CachePolicy

func keyBenchmarks() {
    let settings = Fixtures.settings
    let request = Fixtures.request

    Benchmark("Keys: PrimaryKey.make, plain path") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(PrimaryKey.make(
                methodClass: .retrieval, scheme: "https", host: "www.example.com",
                pathAndQuery: "/assets/js/app.3f9c2d.js", settings: settings))
        }
    }

    Benchmark("Keys: PrimaryKey.make, query sorted, utm_* and gclid dropped") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(PrimaryKey.make(
                methodClass: .retrieval, scheme: "https", host: "WWW.Example.com:443",
                pathAndQuery: "/search?q=edge%2fcache&utm_source=news&page=2&utm_medium=email&lang=en&gclid=Cj0KCQ",
                settings: settings))
        }
    }

    Benchmark("Keys: Variants.secondaryKey, Accept-Encoding normalised") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(Variants.secondaryKey(vary: ["Accept-Encoding"], request: request, normaliseAcceptEncoding: true))
        }
    }

    Benchmark("Keys: Variants.secondaryKey, Accept-Encoding and Accept-Language") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(Variants.secondaryKey(
                vary: ["Accept-Encoding, Accept-Language"], request: request, normaliseAcceptEncoding: true))
        }
    }
}
