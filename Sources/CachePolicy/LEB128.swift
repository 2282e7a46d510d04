// LEB128: the unsigned variable-length integers of the compact stored forms (packed header
// fields, the disk tier's binary head): seven bits per byte, least significant first, the high
// bit set on every byte but the last.
//
// Invariant: `read` never reads past the buffer; a number that runs off its end, or past 64
// bits, is nil, never a guess.
public enum LEB128 {
    /// Appends `value`.
    public static func append(_ value: UInt64, to bytes: inout [UInt8]) {
        var rest = value
        while rest >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: rest) | 0x80)
            rest >>= 7
        }
        bytes.append(UInt8(rest))
    }

    /// The number of bytes `append` writes for `value`.
    public static func size(of value: UInt64) -> Int {
        var size = 1, rest = value >> 7
        while rest > 0 {
            size += 1
            rest >>= 7
        }
        return size
    }

    /// Writes `value` at `offset` and moves `offset` past it. The caller has made room
    /// (`size(of:)` bytes); writing past the buffer's end traps, in release builds too.
    public static func write(_ value: UInt64, to bytes: UnsafeMutableRawBufferPointer, at offset: inout Int) {
        precondition(offset >= 0 && offset + size(of: value) <= bytes.count, "LEB128 write past the end")
        var rest = value
        while rest >= 0x80 {
            bytes[offset] = UInt8(truncatingIfNeeded: rest) | 0x80
            offset += 1
            rest >>= 7
        }
        bytes[offset] = UInt8(rest)
        offset += 1
    }

    /// Reads one number at `offset` and moves `offset` past it; nil when it is cut short.
    @inline(__always)
    public static func read(_ bytes: UnsafeRawBufferPointer, at offset: inout Int) -> UInt64? {
        // One byte: most lengths and numbers in the stored forms.
        if offset < bytes.count, bytes[offset] < 0x80 {
            offset += 1
            return UInt64(bytes[offset - 1])
        }
        return readLong(bytes, at: &offset)
    }

    private static func readLong(_ bytes: UnsafeRawBufferPointer, at offset: inout Int) -> UInt64? {
        var value: UInt64 = 0
        for shift in stride(from: 0, to: 64, by: 7) {
            guard offset < bytes.count else { return nil }
            let byte = bytes[offset]
            offset += 1
            value |= UInt64(byte & 0x7F) << UInt64(shift)
            if byte < 0x80 { return value }
        }
        return nil
    }
}
