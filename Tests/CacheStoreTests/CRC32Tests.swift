// The disk tier's CRC-32 (IEEE, zlib's): the standard check value, and the same answer whether a
// body arrives whole or in parts of any size (the slicing-by-8 steps and the byte-at-a-time tail).
import NIOCore
import Testing

@testable import CacheStore

@Suite("CRC-32")
struct CRC32Tests {
    @Test("the check value of \"123456789\" is 0xCBF43926, and of nothing 0")
    func checkValue() {
        #expect(CRC32.checksum(ByteBuffer(string: "123456789")) == 0xcbf4_3926)
        #expect(CRC32.checksum(ByteBuffer()) == 0)
        #expect(CRC32.checksum(ByteBuffer(string: "The quick brown fox jumps over the lazy dog")) == 0x414f_a339)
    }

    @Test("parts of any size give the checksum of the whole")
    func parts() {
        let whole = ByteBuffer(bytes: (0..<1_000).map { UInt8(truncatingIfNeeded: $0 &* 131 &+ 7) })
        let expected = CRC32.checksum(whole)
        for partLength in [1, 3, 7, 8, 9, 64, 999] {
            var crc = CRC32()
            var remaining = whole
            while let part = remaining.readSlice(length: min(partLength, remaining.readableBytes)), part.readableBytes > 0 {
                crc.update(part)
            }
            #expect(crc.value == expected, "parts of \(partLength)")
        }
    }
}
