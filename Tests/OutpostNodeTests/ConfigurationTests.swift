// Configuration: defaults < YAML file < flags, one parser per setting, errors that name the flag
// or the file and line.
import Foundation
import NIOCore
import OutpostNode
import Testing

@Suite("Configuration")
struct ConfigurationTests {
    func file(_ text: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("outpost-\(UUID().uuidString).yaml").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test("defaults are the documented ones")
    func defaults() throws {
        let configuration = try ConfigurationLoader.load(configFile: nil, flags: [])
        #expect(configuration.listen == HostAndPort(host: "127.0.0.1", port: 8080))
        #expect(configuration.adminListen == HostAndPort(host: "127.0.0.1", port: 8081))
        #expect(configuration.cacheDirectory == "./outpost-cache")
        #expect(configuration.memorySize == 256 << 20)
        #expect(configuration.diskSize == 2 << 30)
        #expect(throws: ConfigurationError.self) { try configuration.validated() }  // no origin yet
    }

    @Test("the file sets values, flags win, and flag origins replace the file's list")
    func layering() throws {
        let path = try file("""
            listen: 0.0.0.0:9090
            origin:
              - http://10.0.0.1:8000
              - http://10.0.0.2:8000
            memory-size: 1GiB
            connect-timeout: 500ms
            forwarded-for: replace
            """)
        let fromFile = try ConfigurationLoader.load(configFile: path, flags: [])
        #expect(fromFile.listen == HostAndPort(host: "0.0.0.0", port: 9090))
        #expect(fromFile.origins.map(\.baseURL) == ["http://10.0.0.1:8000", "http://10.0.0.2:8000"])
        #expect(fromFile.memorySize == 1 << 30)
        #expect(fromFile.originClient.connectTimeout == .milliseconds(500))
        #expect(fromFile.edge.forwarding.forwardedFor == .replace)
        let layered = try ConfigurationLoader.load(configFile: path, flags: [
            ("origin", "http://127.0.0.1:9000"), ("memory-size", "64MiB"), ("listen", "127.0.0.1:0"),
        ])
        #expect(layered.origins.map(\.baseURL) == ["http://127.0.0.1:9000"])
        #expect(layered.memorySize == 64 << 20)
        #expect(layered.listen.port == 0)
        #expect(layered.originClient.connectTimeout == .milliseconds(500))
    }

    @Test("a bad flag value names the flag")
    func badFlag() {
        #expect(throws: ConfigurationError(setting: "--memory-size", message: "\"12XB\" is not a size (e.g. 512KiB, 256MiB, 2GiB)")) {
            try ConfigurationLoader.load(configFile: nil, flags: [("memory-size", "12XB")])
        }
        #expect(throws: ConfigurationError.self) { try ConfigurationLoader.load(configFile: nil, flags: [("origin", "ftp://x")]) }
        #expect(throws: ConfigurationError.self) { try ConfigurationLoader.load(configFile: nil, flags: [("listen", "nohost")]) }
        #expect(throws: ConfigurationError.self) { try ConfigurationLoader.load(configFile: nil, flags: [("log-level", "loud")]) }
        #expect(throws: ConfigurationError.self) { try ConfigurationLoader.load(configFile: nil, flags: [("forwarded-proto", "maybe")]) }
    }

    @Test("a bad file value names the file, the line and the key")
    func badFileValue() throws {
        let path = try file("listen: 127.0.0.1:8080\n\nidle-body-timeout: 10 parsecs\n")
        do {
            _ = try ConfigurationLoader.load(configFile: path, flags: [])
            Issue.record("expected an error")
        } catch let error as ConfigurationError {
            #expect(error.setting == "\(path):3: idle-body-timeout")
        }
    }

    @Test("unknown keys, lists for single settings and unreadable files are refused")
    func refusals() throws {
        let unknown = try file("listen: 127.0.0.1:1\nlisten-port: 80\n")
        #expect(throws: ConfigurationError(setting: "\(unknown):2: listen-port", message: "unknown setting")) {
            try ConfigurationLoader.load(configFile: unknown, flags: [])
        }
        let list = try file("log-level:\n  - info\n  - debug\n")
        #expect(throws: ConfigurationError.self) { try ConfigurationLoader.load(configFile: list, flags: []) }
        // `listen` is repeatable: a list is several listeners, and a flag replaces the file's list.
        let listeners = try file("listen:\n  - 127.0.0.1:1\n  - 127.0.0.1:2\n")
        #expect(try ConfigurationLoader.load(configFile: listeners, flags: []).plainListens.map(\.port) == [1, 2])
        #expect(try ConfigurationLoader.load(configFile: listeners, flags: [("listen", "127.0.0.1:3")]).plainListens.map(\.port) == [3])
        let broken = try file("listen: [unclosed\n")
        #expect(throws: ConfigurationError.self) { try ConfigurationLoader.load(configFile: broken, flags: []) }
        #expect(throws: ConfigurationError.self) { try ConfigurationLoader.load(configFile: "/nonexistent/outpost.yaml", flags: []) }
    }

    @Test("sizes and durations", arguments: [
        ("256MiB", 256 << 20), ("2GiB", 2 << 30), ("512KiB", 512 << 10), ("10MB", 10_000_000), ("100", 100),
    ])
    func sizes(_ text: String, _ bytes: Int) {
        #expect(ByteSize.parse(text) == bytes)
        #expect(ByteSize.parse(ByteSize.format(bytes)) == bytes)
    }

    @Test("malformed sizes and durations are refused")
    func malformed() {
        for text in ["", "MiB", "12XB", "-1", "1.5GiB", "99999999999999TiB"] { #expect(ByteSize.parse(text) == nil, "\(text)") }
        for text in ["", "s", "2 weeks", "-3s", "1.5s"] { #expect(DurationText.parse(text) == nil, "\(text)") }
        #expect(DurationText.parse("500ms") == .milliseconds(500))
        #expect(DurationText.parse("5m") == .minutes(5))
        #expect(DurationText.format(.seconds(90)) == "90s")
    }
}
