// PackedFieldLine: the byte form of one header field line inside `HeaderFields`' packed array,
// made small because every stored response keeps its header section in memory.
//
// A line is its name, then its value:
// - name: one byte. 0 is followed by the literal name (LEB128 length, then the bytes); n ≥ 1
//   is `commonNames[n - 1]`, used only when the name has exactly those bytes (same case), so
//   a line always reads back with the bytes it came with.
// - value: a LEB128 header. An even header 2 × L is followed by the literal value of L bytes;
//   the header 1 is followed by four bytes (little-endian seconds since 1970) of an IMF-fixdate
//   (RFC 9110 §5.6.7), used only when the value is exactly the IMF-fixdate those seconds
//   format to, so it too reads back byte for byte; the header 3 is followed by the LEB128 number
//   of a value kept in `SharedFieldValues` (for the names in `sharingNames`, whose values
//   usually repeat from response to response); the header 5 is followed by a LEB128 number, for
//   a value of two to eighteen decimal digits without a leading zero (a Content-Length, an Age),
//   which is exactly that number's decimal form, so it reads back byte for byte too.
//
// Invariants: the encoding of a line is a function of its bytes alone (one form per line), so
// equal field lists have equal packed bytes; `read` is given only what `append` wrote.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

enum PackedFieldLine {
    /// Field names common in responses, each as origins usually spell it, then the most common
    /// again in lower case (HTTP/2 and many frameworks send them so). At most 255.
    static let commonNames: [String] = [
        "Date", "Server", "Content-Type", "Content-Length", "Last-Modified", "ETag", "Cache-Control", "Accept-Ranges",
        "Expires", "Vary", "Age", "Content-Encoding", "Content-Language", "Content-Location", "Content-Range",
        "Content-Disposition", "Location", "Set-Cookie", "Link", "Pragma", "Via", "Allow", "Retry-After", "Warning",
        "Surrogate-Key", "Surrogate-Control", "Cache-Tag", "CDN-Cache-Control", "Alt-Svc", "X-Powered-By",
        "Access-Control-Allow-Origin", "Access-Control-Allow-Credentials", "Access-Control-Expose-Headers",
        "Strict-Transport-Security", "X-Content-Type-Options", "X-Frame-Options", "X-XSS-Protection",
        "Content-Security-Policy", "Referrer-Policy", "Permissions-Policy", "Cross-Origin-Resource-Policy",
        "Cross-Origin-Opener-Policy", "Cross-Origin-Embedder-Policy", "Timing-Allow-Origin", "Server-Timing",
        "WWW-Authenticate", "Etag",
        "date", "server", "content-type", "content-length", "last-modified", "etag", "cache-control", "accept-ranges",
        "expires", "vary", "age", "content-encoding", "content-language", "location", "set-cookie", "link",
        "access-control-allow-origin", "strict-transport-security", "x-content-type-options", "x-frame-options",
        "surrogate-key", "cache-tag", "alt-svc",
    ]

    /// The common names' numbers, by the names' byte length, for `append` (no String hashing).
    private static let numbersByLength: [[(name: [UInt8], number: UInt8)]] = {
        precondition(commonNames.count <= 255 && Set(commonNames).count == commonNames.count)
        let longest = commonNames.map(\.utf8.count).max() ?? 0
        var table = [[(name: [UInt8], number: UInt8)]](repeating: [], count: longest + 1)
        for (index, name) in commonNames.enumerated() { table[name.utf8.count].append((Array(name.utf8), UInt8(index + 1))) }
        return table
    }()

    /// The number of a common name spelled exactly so (bytes compared: String's `==` is
    /// canonical equivalence, under which a KELVIN SIGN equals "K").
    static func number(of name: String) -> UInt8? {
        let length = name.utf8.count
        guard length > 0, length < numbersByLength.count else { return nil }
        var name = name
        return name.withUTF8 { bytes in
            numbersByLength[length].first { candidate in
                candidate.name.withUnsafeBufferPointer { memcmp($0.baseAddress!, bytes.baseAddress!, length) == 0 }
            }?.number
        }
    }

    /// The common names' bytes in one allocation that lives as long as the process, so a line
    /// reads its name in place; `starts[n]` is where name n begins (and name n - 1 ends).
    /// Unsafe pointers, not arrays: reading a name retains and releases nothing.
    private struct NameBytes: @unchecked Sendable {
        let all: UnsafeRawPointer
        let starts: UnsafePointer<Int>
        let count: Int

        func name(_ number: Int) -> UnsafeRawBufferPointer {
            precondition(number >= 1 && number <= count, "not a common name's number")
            return UnsafeRawBufferPointer(start: all + starts[number - 1], count: starts[number] - starts[number - 1])
        }
    }

    private static let nameBytes: NameBytes = {
        let total = commonNames.reduce(0) { $0 + $1.utf8.count }
        let storage = UnsafeMutableRawBufferPointer.allocate(byteCount: total, alignment: 1)
        let starts = UnsafeMutablePointer<Int>.allocate(capacity: commonNames.count + 1)
        var offset = 0
        for (index, name) in commonNames.enumerated() {
            let bytes = Array(name.utf8)
            storage.baseAddress!.advanced(by: offset).copyMemory(from: bytes, byteCount: bytes.count)
            starts[index] = offset
            offset += bytes.count
        }
        starts[commonNames.count] = offset
        return NameBytes(all: UnsafeRawPointer(storage.baseAddress!), starts: UnsafePointer(starts), count: commonNames.count)
    }()

    private static let dateHeader: UInt64 = 1
    private static let sharedHeader: UInt64 = 3
    private static let numberHeader: UInt64 = 5

    /// Common names whose values usually repeat across responses. Not those whose values are
    /// per response (Date, ETag, Location…) or often are: `Access-Control-Allow-Origin` (may echo
    /// each client's Origin), `Content-Security-Policy` (nonces), `Via` (per-hop ids). The table
    /// numbers values first come, first served, so values that never repeat would only use it up.
    static let sharingNames: Set<String> = [
        "Server", "Content-Type", "Cache-Control", "Accept-Ranges", "Vary", "Content-Encoding", "Content-Language",
        "Pragma", "Allow", "Surrogate-Control", "CDN-Cache-Control", "Alt-Svc", "X-Powered-By",
        "Access-Control-Allow-Credentials", "Access-Control-Expose-Headers",
        "Strict-Transport-Security", "X-Content-Type-Options", "X-Frame-Options", "X-XSS-Protection",
        "Referrer-Policy", "Permissions-Policy", "Cross-Origin-Resource-Policy",
        "Cross-Origin-Opener-Policy", "Cross-Origin-Embedder-Policy", "Timing-Allow-Origin",
        "server", "content-type", "cache-control", "accept-ranges", "vary", "content-encoding", "content-language",
        "strict-transport-security", "x-content-type-options", "x-frame-options", "alt-svc",
    ]

    /// Whether `value` may be offered to the shared table: not a multipart type, whose boundary
    /// is new in every response.
    static func mayShare(_ value: String) -> Bool {
        FieldSyntax.withBytes(of: value, mayShare)
    }

    private static let boundary = Array("boundary=".utf8)

    private static func mayShare(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        guard bytes.contains(UInt8(ascii: "=")) else { return true }
        var matched = 0
        for byte in bytes {
            let lower = (byte >= 0x41 && byte <= 0x5A) ? byte + 0x20 : byte
            if lower == boundary[matched] {
                matched += 1
                if matched == boundary.count { return false }
            } else {
                // No proper prefix of "boundary=" recurs inside it, so a mismatch restarts at this byte.
                matched = lower == boundary[0] ? 1 : 0
            }
        }
        return true
    }

    /// For each common name (by number - 1), whether its values are offered to the shared table.
    private static let sharesValues: [Bool] = commonNames.map { sharingNames.contains($0) }

    /// Appends one line in its packed form.
    static func append(name: String, value: String, to packed: inout [UInt8]) {
        if let number = number(of: name) {
            packed.append(number)
            if sharesValues[Int(number) - 1], mayShare(value), let shared = SharedFieldValues.shared.number(for: value) {
                LEB128.append(sharedHeader, to: &packed)
                LEB128.append(UInt64(shared), to: &packed)
                return
            }
        } else {
            packed.append(0)
            LEB128.append(UInt64(name.utf8.count), to: &packed)
            packed.append(contentsOf: name.utf8)
        }
        if let seconds = compactDate(value) {
            LEB128.append(dateHeader, to: &packed)
            withUnsafeBytes(of: seconds.littleEndian) { packed.append(contentsOf: $0) }
        } else if let number = compactNumber(value) {
            LEB128.append(numberHeader, to: &packed)
            LEB128.append(number, to: &packed)
        } else {
            LEB128.append(UInt64(value.utf8.count) << 1, to: &packed)
            packed.append(contentsOf: value.utf8)
        }
    }

    /// The seconds of `value` when it is an IMF-fixdate that formats back to exactly itself,
    /// within what four bytes hold (1970 to 2106).
    static func compactDate(_ value: String) -> UInt32? {
        guard value.utf8.count == HTTPDate.imfFixdateLength,
              let time = HTTPDate.parse(value), time.seconds >= 0, time.seconds <= Double(UInt32.max)
        else { return nil }
        let seconds = UInt32(time.seconds)
        let same = withUnsafeTemporaryAllocation(byteCount: HTTPDate.imfFixdateLength, alignment: 1) { rendered in
            HTTPDate.writeIMFFixdate(seconds: Int(seconds), to: rendered)
            return FieldSyntax.bytesEqual(value, UnsafeRawBufferPointer(rendered))
        }
        return same ? seconds : nil
    }

    /// The number `value` is the decimal form of: two to eighteen digits, the first not 0.
    /// (One digit takes a byte either way; eighteen digits always fit 64 bits.)
    static func compactNumber(_ value: String) -> UInt64? {
        let digits = value.utf8
        guard (2...18).contains(digits.count), let first = digits.first, first >= UInt8(ascii: "1"), first <= UInt8(ascii: "9")
        else { return nil }
        var number: UInt64 = 0
        for digit in digits {
            guard digit >= UInt8(ascii: "0"), digit <= UInt8(ascii: "9") else { return nil }
            number = number * 10 + UInt64(digit - UInt8(ascii: "0"))
        }
        return number
    }

    /// Reads the line at `offset` and moves `offset` past it. When `wanted(name)`, returns what
    /// `body` makes of its name and value bytes (valid only during the call); otherwise returns
    /// nil without decoding the value (a date is not formatted for a line nobody reads).
    static func read<Result>(
        _ bytes: UnsafeRawBufferPointer, at offset: inout Int,
        decodingValueIf wanted: (_ name: UnsafeRawBufferPointer) -> Bool,
        _ body: (_ name: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) -> Result
    ) -> Result? {
        let name = readName(bytes, at: &offset)
        guard wanted(name) else {
            skipValue(bytes, at: &offset)
            return nil
        }
        return readValue(bytes, at: &offset) { body(name, $0) }
    }

    /// The name of the line at `offset` (its bytes, in place), moving `offset` to the value.
    @inline(__always)
    static func readName(_ bytes: UnsafeRawBufferPointer, at offset: inout Int) -> UnsafeRawBufferPointer {
        let number = Int(bytes[offset])
        offset += 1
        guard number == 0 else { return nameBytes.name(number) }
        let length = Int(LEB128.read(bytes, at: &offset)!)
        let name = UnsafeRawBufferPointer(rebasing: bytes[offset..<offset + length])
        offset += length
        return name
    }

    /// Moves `offset` from a value's start past it, decoding nothing.
    @inline(__always)
    static func skipValue(_ bytes: UnsafeRawBufferPointer, at offset: inout Int) {
        let header = LEB128.read(bytes, at: &offset)!
        switch header {
        case sharedHeader, numberHeader: _ = LEB128.read(bytes, at: &offset)!
        case dateHeader: offset += 4
        default: offset += Int(header >> 1)
        }
        precondition(offset <= bytes.count, "packed field line past the end")
    }

    /// The seconds of the value at `offset` when it is kept as a date, moving `offset` past it;
    /// nil (having moved past it too) when it is kept any other way.
    static func readDate(_ bytes: UnsafeRawBufferPointer, at offset: inout Int) -> UInt32? {
        var start = offset
        guard LEB128.read(bytes, at: &start)! == dateHeader else {
            skipValue(bytes, at: &offset)
            return nil
        }
        offset = start + 4
        precondition(offset <= bytes.count, "packed field line past the end")
        return dateSeconds(bytes, at: start)
    }

    /// The four little-endian bytes of a packed date at `start`.
    private static func dateSeconds(_ bytes: UnsafeRawBufferPointer, at start: Int) -> UInt32 {
        var seconds: UInt32 = 0
        withUnsafeMutableBytes(of: &seconds) { $0.copyMemory(from: UnsafeRawBufferPointer(rebasing: bytes[start..<start + 4])) }
        return UInt32(littleEndian: seconds)
    }

    /// What `body` makes of the value at `offset` (its bytes, valid only during the call),
    /// moving `offset` past it.
    static func readValue<Result>(_ bytes: UnsafeRawBufferPointer, at offset: inout Int,
                                  _ body: (_ value: UnsafeRawBufferPointer) -> Result) -> Result {
        let header = LEB128.read(bytes, at: &offset)!
        if header == sharedHeader {
            let shared = UInt32(LEB128.read(bytes, at: &offset)!)
            return body(SharedFieldValues.shared.value(shared))
        }
        if header == dateHeader {
            let seconds = dateSeconds(bytes, at: offset)
            offset += 4
            return withUnsafeTemporaryAllocation(byteCount: HTTPDate.imfFixdateLength, alignment: 1) { rendered in
                HTTPDate.writeIMFFixdate(seconds: Int(seconds), to: rendered)
                return body(UnsafeRawBufferPointer(rendered))
            }
        }
        if header == numberHeader {
            let number = LEB128.read(bytes, at: &offset)!
            return withUnsafeTemporaryAllocation(byteCount: 20, alignment: 1) { digits in
                var rest = number, start = 20
                repeat {
                    start -= 1
                    digits[start] = UInt8(ascii: "0") + UInt8(rest % 10)
                    rest /= 10
                } while rest > 0
                return body(UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(digits)[start...]))
            }
        }
        let start = offset
        offset += Int(header >> 1)
        return body(UnsafeRawBufferPointer(rebasing: bytes[start..<offset]))
    }
}
