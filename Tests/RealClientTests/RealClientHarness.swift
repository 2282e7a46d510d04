// The harness of the real-client tests: a node on port 0 in front of a scripted origin (adapted from
// OutpostNodeTests' NodeHarness, admin listener off), the external programs the tests run, and a
// subprocess runner whose every run is bounded by a timeout, so a stalled client fails its test
// instead of hanging CI.
import Foundation
import Logging
import OriginClient
import OutpostNode
import OutpostTesting

#if canImport(Glibc)
import Glibc
#endif

/// Runs `body` against a node listening on 127.0.0.1 (kernel-chosen port), memory only, admin off,
/// in front of `origin`; the node is shut down whatever happens.
func withNode(proxying origin: ScriptedOrigin, _ body: (Node) async throws -> Void) async throws {
    var configuration = NodeConfiguration()
    configuration.listen = HostAndPort(host: "127.0.0.1", port: 0)
    configuration.origins = [try OriginServer(url: origin.url)]
    configuration.threads = 1
    configuration.diskSize = 0
    configuration.adminListen = nil
    var logger = Logger(label: "test.real-client.node")
    logger.logLevel = .critical
    let node = try await Node.start(configuration, logger: logger)
    do {
        try await body(node)
    } catch {
        await node.shutdown(gracePeriod: .seconds(1))
        throw error
    }
    await node.shutdown(gracePeriod: .seconds(1))
}

extension RecordedRequest {
    var bodyText: String { String(decoding: body, as: UTF8.self) }
    /// `METHOD target`, the way the tests list what the origin saw.
    var line: String { "\(method) \(target)" }
}

/// A program these tests drive, and the Debian package that provides it.
enum ExternalProgram: String, Sendable {
    case node
    case curl
    case python3

    var debianPackage: String {
        switch self {
        case .node: "nodejs"
        case .curl: "curl"
        case .python3: "python3"
        }
    }

    /// The program's path on `PATH`; a missing program is an error (the test fails, it is not
    /// skipped) that names the package to install.
    func located() throws -> URL {
        let searchPath = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        for folder in searchPath.split(separator: ":") {
            let candidate = URL(fileURLWithPath: String(folder)).appendingPathComponent(rawValue)
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
        }
        throw MissingProgram(program: self)
    }
}

struct MissingProgram: Error, CustomStringConvertible {
    var program: ExternalProgram
    var description: String {
        "`\(program.rawValue)` is not on PATH: install the Debian package `\(program.debianPackage)` "
            + "(apt-get install \(program.debianPackage); .ci/apt-packages lists it)"
    }
}

/// What a finished (or killed) subprocess left behind.
struct ProcessOutcome: Sendable {
    var exitStatus: Int32
    var output: String
    var errors: String
    /// The process outlived its timeout and was killed.
    var timedOut: Bool
}

/// Runs `program` with `arguments`, stdin closed, and kills it once `timeout` has passed.
/// Polls every 20 ms, never longer than `timeout`.
func runProgram(_ program: ExternalProgram, _ arguments: [String], timeout: Duration = .seconds(20)) async throws -> ProcessOutcome {
    let process = ChildProcess()
    process.executableURL = try program.located()
    process.arguments = arguments
    process.standardInput = FileHandle.nullDevice
    let output = Pipe()
    let errors = Pipe()
    process.standardOutput = output
    process.standardError = errors
    try process.run()
    // Both pipes are drained while the process runs, so a chatty client never blocks on a full pipe.
    async let outputData = readToEnd(output.fileHandleForReading)
    async let errorData = readToEnd(errors.fileHandleForReading)

    let deadline = ContinuousClock.now + timeout
    while process.isRunning && ContinuousClock.now < deadline {
        try? await Task.sleep(for: .milliseconds(20))
    }
    let timedOut = process.isRunning
    // SIGKILL, not SIGTERM: a client has nothing to tidy, and a SIGTERM the test runner's process
    // ignores stays ignored in its children.
    if timedOut { kill(process.processIdentifier, SIGKILL) }
    process.waitUntilExit()
    return ProcessOutcome(
        exitStatus: process.terminationStatus,
        output: String(decoding: await outputData, as: UTF8.self),
        errors: String(decoding: await errorData, as: UTF8.self),
        timedOut: timedOut)
}

/// Reads a pipe to its end on a Dispatch thread, never on the cooperative pool (which has as many
/// threads as cores, two on the CI machine).
private func readToEnd(_ handle: FileHandle) async -> Data {
    await withCheckedContinuation { continuation in
        DispatchQueue.global().async { continuation.resume(returning: handle.readDataToEndOfFile()) }
    }
}

/// A file of Tests/RealClientTests/Clients, read in place (the folder is excluded from the target).
func clientScript(_ name: String) -> String {
    URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Clients").appendingPathComponent(name).path
}
