// TraceGenerator: seeded, CDN-like request streams. The same seed and settings give the same
// trace on every machine (SplitMix64, no system randomness).
//
// The shape follows what published CDN traces show: popularity by Zipf (α 0.7–1.0) over a
// catalogue of objects; about half of all distinct objects requested exactly once (one-hit
// wonders); heavy-tailed sizes (log-normal body, a Pareto tail of large objects); and bursts of
// scans — a crawler or a prefetcher walking many cold objects once each.

/// SplitMix64: small, fast, and reproducible everywhere.
struct SeededRandom: RandomNumberGenerator {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
    mutating func unit() -> Double { Double(next() >> 11) / Double(1 << 53) }
}

struct TraceGenerator: Sendable {
    var seed: UInt64 = 14
    /// Objects in the popular catalogue (requested by Zipf popularity).
    var catalogue = 50_000
    var requests = 1_000_000
    /// Zipf exponent of popularity.
    var alpha = 0.8
    /// The share of distinct objects requested exactly once.
    var oneHitShare = 0.5
    /// Scan bursts spread evenly over the trace, and the objects each walks once.
    var scans = 5
    var scanLength = 5_000
    /// Median object size (log-normal), and the spread of its logarithm.
    var medianSize = 8_192.0
    var sizeSigma = 1.2
    /// The share of objects drawn from a Pareto tail (α 1.2) starting at 256 KiB, capped at 8 MiB.
    var largeShare = 0.02

    var name: String { "cdn-like(α=\(alpha), seed=\(seed))" }

    func generate() -> Trace {
        var random = SeededRandom(seed: seed)
        // Cumulative Zipf weights over ranks 1...catalogue.
        var cumulative = [Double](repeating: 0, count: catalogue)
        var sum = 0.0
        for rank in 0..<catalogue {
            sum += 1 / pow(Double(rank + 1), alpha)
            cumulative[rank] = sum
        }
        // Ranks are shuffled onto keys so popularity does not follow key order.
        var keyOfRank = (0..<catalogue).map { UInt64($0) }
        keyOfRank.shuffle(using: &random)
        var sizes: [UInt64: Int] = [:]
        var nextOneTimeKey = UInt64(catalogue)
        func size(of key: UInt64) -> Int {
            if let size = sizes[key] { return size }
            var keyed = SeededRandom(seed: seed ^ (key &* 0x2545_f491_4f6c_dd1d))
            let size: Int
            if keyed.unit() < largeShare {
                size = min(8 << 20, Int(262_144 / pow(max(keyed.unit(), 1e-9), 1 / 1.2)))
            } else {
                // Box–Muller for a normal deviate.
                let normal = (-2 * log(max(keyed.unit(), 1e-12))).squareRoot() * cos(2 * Double.pi * keyed.unit())
                size = max(64, min(8 << 20, Int(medianSize * exp(sizeSigma * normal))))
            }
            sizes[key] = size
            return size
        }
        // One-hit wonders: as many as the catalogue's objects that get requested, times the share.
        let scanRequests = scans * scanLength
        let oneTimeTarget = Double(min(catalogue, requests)) * oneHitShare / (1 - oneHitShare)
        let oneTimeProbability = max(0, oneTimeTarget - Double(scanRequests)) / Double(max(1, requests - scanRequests))
        let scanEvery = scans > 0 ? requests / (scans + 1) : Int.max
        var trace: [TraceRequest] = []
        trace.reserveCapacity(requests)
        var time = 0
        while trace.count < requests {
            if scans > 0, trace.count % scanEvery == 0, trace.count > 0, trace.count / scanEvery <= scans {
                for _ in 0..<min(scanLength, requests - trace.count) {
                    trace.append(TraceRequest(time: time, key: nextOneTimeKey, size: size(of: nextOneTimeKey)))
                    nextOneTimeKey += 1
                }
            }
            time += random.next() % 4 == 0 ? 1 : 0
            let key: UInt64
            if random.unit() < oneTimeProbability {
                key = nextOneTimeKey
                nextOneTimeKey += 1
            } else {
                let target = random.unit() * sum
                var low = 0, high = catalogue - 1
                while low < high {
                    let middle = (low + high) / 2
                    if cumulative[middle] < target { low = middle + 1 } else { high = middle }
                }
                key = keyOfRank[low]
            }
            trace.append(TraceRequest(time: time, key: key, size: size(of: key)))
        }
        return Trace(name: name, requests: Array(trace.prefix(requests)))
    }
}

import Foundation
