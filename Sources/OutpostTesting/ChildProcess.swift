// Child processes for tests (curl, openssl, the built `outpost` and `outpostctl`), started with
// posix_spawn instead of Foundation's `Process`. On this toolchain `Process.run()` crashes in two
// ways under the parallel suite: when called from several threads at once (a crash in memcpy),
// and when the process holds more than about 1,300 descriptors, because it lists /proc/self/fd
// and copies each entry's whole 256-byte name field past glibc's 32 KiB directory buffer (fixed
// upstream after this toolchain: swiftlang/swift-corelibs-foundation#5472). The suite peaks near
// 2,400 descriptors.
//
// The subset of `Process`'s interface the tests use, with the same names. Invariants: the child
// gets the three standard descriptors asked for and no other (every descriptor from 3 up is closed
// in the child — by closefrom where glibc has it (2.34), else one by one as /proc/self/fd lists
// them — so a test's pipe never stays open in another test's child); every signal has its
// default action and none is blocked in the child; the parent's copies of the child's ends of
// its pipes are closed once it runs, so reading a pipe to its end returns when the child exits.
import Foundation
#if canImport(Glibc)
import Glibc
#endif

public final class ChildProcess: @unchecked Sendable {
    public enum TerminationReason: Sendable { case exit, uncaughtSignal }

    public var executableURL: URL?
    public var arguments: [String] = []
    public var currentDirectoryURL: URL?
    /// nil (inherit), a `Pipe`, or a `FileHandle` (`FileHandle.nullDevice` is /dev/null), as `Process`.
    public var standardInput: Any?
    public var standardOutput: Any?
    public var standardError: Any?
    public private(set) var processIdentifier: Int32 = 0
    /// Close the child's inherited descriptors one by one (listed from /proc/self/fd), as on a
    /// glibc without closefrom; for the launcher's own test of that path.
    public var closesDescriptorsOneByOne = false

    private let lock = NSLock()
    /// The raw wait status once the child has been reaped.
    private var waitStatus: Int32?

    public init() {}

    public func run() throws {
        guard let path = executableURL?.path else { throw ChildProcessError.spawn("no executable", errno: 0) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        try redirect(standardInput, to: 0, reading: true, actions: &actions)
        try redirect(standardOutput, to: 1, reading: false, actions: &actions)
        try redirect(standardError, to: 2, reading: false, actions: &actions)
        var program = path
        var programArguments = arguments
        if let directory = currentDirectoryURL?.path {
            if let addChdir = Self.addChdir {
                let result = directory.withCString { addChdir(&actions, $0) }
                guard result == 0 else { throw ChildProcessError.spawn("chdir \(directory)", errno: result) }
            } else {
                // Before glibc 2.29: a shell changes directory, then becomes the program.
                programArguments = ["-c", "cd \"$0\" && exec \"$@\"", directory, path] + arguments
                program = "/bin/sh"
            }
        }
        if let closeFrom = Self.addCloseFrom, !closesDescriptorsOneByOne {
            guard closeFrom(&actions, 3) == 0 else { throw ChildProcessError.spawn("closefrom", errno: errno) }
        } else {
            // Before glibc 2.34: close each descriptor this process has open, from 3 up (after the
            // dup2s above, so the pipe ends they copied are closed in the child too; glibc ignores
            // a close of a descriptor that closed meanwhile).
            for descriptor in Self.openDescriptors() where descriptor > 2 {
                posix_spawn_file_actions_addclose(&actions, descriptor)
            }
        }

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var defaults = sigset_t(), empty = sigset_t()
        sigfillset(&defaults)
        sigdelset(&defaults, SIGKILL)
        sigdelset(&defaults, SIGSTOP)
        sigemptyset(&empty)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setsigmask(&attributes, &empty)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))

        let argv: [UnsafeMutablePointer<CChar>?] = ([program] + programArguments).map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var pid: pid_t = 0
        let result = argv.withUnsafeBufferPointer { argvBuffer in
            posix_spawn(&pid, program, &actions, &attributes, argvBuffer.baseAddress!, environ)
        }
        guard result == 0 else { throw ChildProcessError.spawn(program, errno: result) }
        processIdentifier = pid
        closeChildEnds()
    }

    /// Whether the child has not exited yet (reaps it when it has).
    public var isRunning: Bool {
        lock.withLock { reap() == nil }
    }

    /// Blocks until the child has exited. The lock is not held while waiting, so `isRunning`
    /// stays answerable from other threads; should one of them reap the child first, this
    /// waitpid fails and the status it recorded stands.
    public func waitUntilExit() {
        guard processIdentifier > 0, lock.withLock({ waitStatus == nil }) else { return }
        var status: Int32 = 0
        var result: pid_t
        repeat { result = waitpid(processIdentifier, &status, 0) } while result == -1 && errno == EINTR
        if result == processIdentifier { lock.withLock { if waitStatus == nil { waitStatus = status } } }
    }

    /// The exit code, or the number of the signal that ended the child.
    public var terminationStatus: Int32 {
        guard let status = lock.withLock({ waitStatus }) else { return 0 }
        return Self.exited(status) ? (status >> 8) & 0xff : status & 0x7f
    }

    public var terminationReason: TerminationReason {
        guard let status = lock.withLock({ waitStatus }) else { return .exit }
        return Self.exited(status) ? .exit : .uncaughtSignal
    }

    /// SIGTERM, as `Process.terminate()`.
    public func terminate() {
        if isRunning { kill(processIdentifier, SIGTERM) }
    }

    // MARK: private

    private static func exited(_ status: Int32) -> Bool { status & 0x7f == 0 }

    /// The wait status if the child has exited (reaping it), else nil. Called with `lock` held.
    private func reap() -> Int32? {
        if let waitStatus { return waitStatus }
        guard processIdentifier > 0 else { return 0 }
        var status: Int32 = 0
        while true {
            let result = waitpid(processIdentifier, &status, WNOHANG)
            if result == processIdentifier {
                waitStatus = status
                return status
            }
            if result == -1 && errno == EINTR { continue }
            if result == -1 {
                // Reaped elsewhere (never expected): treat it as gone rather than running forever.
                waitStatus = 0
                return 0
            }
            return nil
        }
    }

    private func redirect(_ io: Any?, to target: Int32, reading: Bool, actions: inout posix_spawn_file_actions_t) throws {
        let result: Int32
        switch io {
        case nil:
            return
        case let pipe as Pipe:
            let end = reading ? pipe.fileHandleForReading : pipe.fileHandleForWriting
            result = posix_spawn_file_actions_adddup2(&actions, end.fileDescriptor, target)
        case let handle as FileHandle where handle === FileHandle.nullDevice:
            result = posix_spawn_file_actions_addopen(&actions, target, "/dev/null", reading ? O_RDONLY : O_WRONLY, 0)
        case let handle as FileHandle:
            result = posix_spawn_file_actions_adddup2(&actions, handle.fileDescriptor, target)
        default:
            throw ChildProcessError.spawn("standard descriptor \(target) is neither a Pipe nor a FileHandle", errno: 0)
        }
        guard result == 0 else { throw ChildProcessError.spawn("descriptor \(target)", errno: result) }
    }

    private func closeChildEnds() {
        if let pipe = standardInput as? Pipe { try? pipe.fileHandleForReading.close() }
        if let pipe = standardOutput as? Pipe { try? pipe.fileHandleForWriting.close() }
        if let pipe = standardError as? Pipe, pipe !== (standardOutput as? Pipe) { try? pipe.fileHandleForWriting.close() }
    }

    /// The descriptors open in this process now (from /proc/self/fd, read here rather than by
    /// Foundation). The descriptor of the directory listing itself is closed again by the time
    /// the child starts, and closing a closed one in the child is harmless.
    private static func openDescriptors() -> [Int32] {
        guard let directory = opendir("/proc/self/fd") else { return [] }
        defer { closedir(directory) }
        var descriptors: [Int32] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if let descriptor = Int32(name) { descriptors.append(descriptor) }
        }
        return descriptors
    }

    // glibc has both since 2.34 (Debian 12: 2.36), but declares them only under _GNU_SOURCE,
    // which the Glibc module does not see.
    private typealias FileAction = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
    private typealias DirectoryAction = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, UnsafePointer<CChar>) -> Int32
    private static let addCloseFrom: FileAction? = dlsym(nil, "posix_spawn_file_actions_addclosefrom_np")
        .map { unsafeBitCast($0, to: FileAction.self) }
    private static let addChdir: DirectoryAction? = dlsym(nil, "posix_spawn_file_actions_addchdir_np")
        .map { unsafeBitCast($0, to: DirectoryAction.self) }
}

public enum ChildProcessError: Error, CustomStringConvertible {
    case spawn(String, errno: Int32)

    public var description: String {
        switch self {
        case .spawn(let what, let code): "could not start a child process (\(what)): \(code == 0 ? "unsupported" : String(cString: strerror(code)))"
        }
    }
}
