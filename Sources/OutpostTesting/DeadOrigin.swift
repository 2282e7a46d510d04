// An origin address that refuses every connection, and keeps refusing for as long as the value
// lives: a TCP socket bound to a loopback port but never listening. (A port freed by closing a
// listener can be taken by any other listener of the same test run, and then answers.)
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

public final class DeadOrigin: OriginAddress, Sendable {
    public let port: Int
    private let descriptor: Int32

    public init() throws {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw DeadOriginError(operation: "socket", code: errno) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0 else {
            close(descriptor)
            throw DeadOriginError(operation: "bind", code: errno)
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { _ = getsockname(descriptor, $0, &length) }
        }
        self.descriptor = descriptor
        self.port = Int(UInt16(bigEndian: address.sin_port))
    }

    deinit { close(descriptor) }

    public var url: String { "http://127.0.0.1:\(port)" }
}

public struct DeadOriginError: Error {
    public var operation: String
    public var code: Int32
}

/// Anything a test node can be pointed at as an origin.
public protocol OriginAddress: Sendable {
    var url: String { get }
}

extension ScriptedOrigin: OriginAddress {}
