// GhostFingerprints: S3-FIFO's ghost list — the fingerprints of recently evicted entries,
// without their entries, so an entry coming back soon after probation evicted it is known.
// A FIFO bounded by the bytes the remembered entries cost, as libCacheSim bounds it.
//
// Invariants:
// - `bytes` is the sum of the costs of the live fingerprints and is at most `limit` once an
//   insert returns; the oldest go first.
// - A fingerprint is live at most once: inserting it again replaces its older record, whose
//   ring entry is then skipped when it reaches the back.
// - The ring is one array with a moving start, compacted when half of it is dead: no allocation
//   per fingerprint beyond the array's and the dictionary's growth.

struct GhostFingerprints: Sendable {
    /// One record in insertion order.
    private struct Record: Sendable {
        var fingerprint: UInt32
        var cost: UInt32
    }

    let limit: Int
    private(set) var bytes = 0
    private var ring: [Record] = []
    private var start = 0
    /// Live fingerprint → the ring position (counted since the ring was created) of its record.
    private var positions: [UInt32: Int] = [:]
    /// Ring positions dropped by compaction, so a position maps to `ring[position - dropped]`.
    private var dropped = 0

    init(limit: Int) {
        self.limit = limit
    }

    var count: Int { positions.count }

    /// Remembers `fingerprint` of an entry that cost `cost`, forgetting the oldest beyond the limit.
    /// `cost` is at most `UInt32.max` (a link's cost is at most `ThreeQueueFIFO.largestCost`).
    mutating func insert(_ fingerprint: UInt32, cost: Int) {
        guard cost <= limit else { return }
        if let old = positions[fingerprint] { bytes -= Int(ring[old - dropped].cost) }
        positions[fingerprint] = dropped + ring.count
        ring.append(Record(fingerprint: fingerprint, cost: UInt32(cost)))
        bytes += cost
        while bytes > limit, start < ring.count {
            let record = ring[start]
            if positions[record.fingerprint] == dropped + start {
                positions[record.fingerprint] = nil
                bytes -= Int(record.cost)
            }
            start += 1
        }
        if start > 64, start * 2 > ring.count {
            ring.removeFirst(start)
            dropped += start
            start = 0
        }
    }

    /// Forgets `fingerprint`; true when it was remembered (a ghost hit).
    mutating func remove(_ fingerprint: UInt32) -> Bool {
        guard let position = positions.removeValue(forKey: fingerprint) else { return false }
        bytes -= Int(ring[position - dropped].cost)
        return true
    }

    mutating func removeAll() {
        ring.removeAll()
        positions.removeAll()
        start = 0
        dropped = 0
        bytes = 0
    }
}
