// LEB128: round trips at the byte boundaries, and numbers cut short or too long are refused.
import CachePolicy
import Testing

@Suite("LEB128")
struct LEB128Tests {
    @Test("round trips, with the expected length", arguments: [
        (UInt64(0), 1), (127, 1), (128, 2), (16_383, 2), (16_384, 3), (UInt64(UInt32.max), 5), (UInt64.max, 10),
    ])
    func roundTrip(value: UInt64, length: Int) {
        var bytes: [UInt8] = []
        LEB128.append(value, to: &bytes)
        #expect(bytes.count == length)
        bytes.withUnsafeBytes { raw in
            var offset = 0
            #expect(LEB128.read(raw, at: &offset) == value)
            #expect(offset == length)
        }
    }

    @Test("a number cut short, or running past 64 bits, is nil")
    func refused() {
        for bytes: [UInt8] in [[], [0x80], [0xFF, 0xFF], Array(repeating: 0x80, count: 10) + [0x01]] {
            bytes.withUnsafeBytes { raw in
                var offset = 0
                #expect(LEB128.read(raw, at: &offset) == nil)
            }
        }
    }
}
