// SharedFieldValues: field values that many stored responses repeat — a server's name, a content
// type, a cache policy — kept once for the whole process and referred to by number from
// `HeaderFields`' packed form (see `PackedFieldLine`). Only values of field names that usually
// repeat are offered (`PackedFieldLine.sharesValues`), and only short ones.
//
// Invariants: append-only and bounded (`limit` values of at most `longestValue` bytes, so at most
// about 2 MiB): a number, once given, names the same bytes for the life of the process, and a
// value is given a number on its first offer or never (once the table is full it stays literal),
// so a line's packed form depends on its bytes alone. Values are matched by their bytes, not by
// String's canonical equivalence. Numbers never leave the process: nothing persists them.
//
// Concurrency: offers take the lock. `value(_:)` reads without it: the bytes of number N are
// written, under the lock, before N is first handed out, and whoever holds N got it through that
// lock or from a HeaderFields passed to it through some other synchronisation.
import Synchronization

final class SharedFieldValues: Sendable {
    static let shared = SharedFieldValues(limit: 16_384, longestValue: 128)

    let limit: Int
    let longestValue: Int
    private let numbers = Mutex<[String: UInt32]>([:])
    /// Entry N is the bytes of number N, written once; never freed.
    private let values: Values

    private struct Values: @unchecked Sendable {
        let entries: UnsafeMutablePointer<UnsafeRawBufferPointer>
    }

    init(limit: Int, longestValue: Int) {
        self.limit = limit
        self.longestValue = longestValue
        values = Values(entries: .allocate(capacity: limit))
    }

    /// The number of `value`, given now if it is new and the table has room; nil when it is too
    /// long or the table is full.
    func number(for value: String) -> UInt32? {
        guard value.utf8.count <= longestValue else { return nil }
        return numbers.withLock { numbers -> UInt32? in
            if let number = numbers[value] {
                // Equal as Strings is not enough: the bytes must be the same.
                return FieldSyntax.bytesEqual(value, values.entries[Int(number)]) ? number : nil
            }
            guard numbers.count < limit else { return nil }
            let number = UInt32(numbers.count)
            let bytes = UnsafeMutableRawBufferPointer.allocate(byteCount: value.utf8.count, alignment: 1)
            bytes.copyBytes(from: value.utf8)
            values.entries[Int(number)] = UnsafeRawBufferPointer(bytes)
            numbers[value] = number
            return number
        }
    }

    /// The bytes of a number `number(for:)` gave.
    func value(_ number: UInt32) -> UnsafeRawBufferPointer {
        values.entries[Int(number)]
    }

    /// How many values are kept.
    var count: Int { numbers.withLock { $0.count } }
}
