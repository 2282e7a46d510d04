// SlotPages: a growable array of optional values indexed by slot, in fixed pages of 64 — so
// growing never reserves room for up to as many values again as a doubling array does, and
// never copies what is stored. Used for the memory shard's entries, where that slack was the
// largest single overhead per stored object (see docs/BENCHMARKS.md, the memory probe).
//
// Invariants: `count` slots exist (each nil or a value); pages are allocated whole, exactly 64
// values each, and only the last may be partly used.
struct SlotPages<Element: Sendable>: Sendable {
    private static var pageSize: Int { 64 }
    private var pages: [[Element?]] = []
    private(set) var count = 0

    subscript(slot: Int) -> Element? {
        get { pages[slot >> 6][slot & 63] }
        _modify { yield &pages[slot >> 6][slot & 63] }
        set { pages[slot >> 6][slot & 63] = newValue }
    }

    /// Adds a slot holding `value`; returns it.
    mutating func append(_ value: Element) -> Int {
        if count == pages.count * Self.pageSize {
            pages.append([Element?](repeating: nil, count: Self.pageSize))
        }
        let slot = count
        count += 1
        self[slot] = value
        return slot
    }

    mutating func removeAll() {
        pages.removeAll()
        count = 0
    }

    /// Calls `body` with every occupied slot and its value, in slot order.
    func forEachOccupied(_ body: (Int, Element) -> Void) {
        for (pageIndex, page) in pages.enumerated() {
            for (offset, value) in page.enumerated() {
                if let value { body(pageIndex << 6 + offset, value) }
            }
        }
    }
}
