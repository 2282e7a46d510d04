// `Proxy-Authorization: Basic` (RFC 9110 §11.7.2, RFC 7617) checked against the access rules'
// users file: one `name:pbkdf2-sha256$ROUNDS$SALT$HASH` line per user (salt and hash in base64),
// made by `outpostctl hash-password`. PBKDF2 is swift-crypto's.
//
// Invariants: a password is never logged or kept; what is kept is the SHA-256 of a credential
// header value that verified, so each user's PBKDF2 runs once per users-file version, and it runs
// on the thread pool, never on an event loop (the request waits for it). The file is re-read when
// its modification time changes (looked at once a second at most); an unreadable file accepts no one.
import Crypto
import _CryptoExtras
import Foundation
import NIOConcurrencyHelpers
import NIOHTTP1

public final class ProxyCredentials: Sendable {
    private struct Users {
        var path: String?
        var modified: Date?
        var lastLooked = Date.distantPast
        var hashes: [String: StoredHash] = [:]
        /// SHA-256 of credential header values that verified against this version of the file.
        var verified: Set<Data> = []
    }

    struct StoredHash: Sendable {
        var rounds: Int
        var salt: Data
        var hash: Data
    }

    private let users = NIOLockedValueBox(Users())
    /// The most verified credentials kept (each is one user's header value).
    static let maximumVerified = 4_096

    enum Check {
        case accepted
        case refused
        /// Credentials not seen before: `run` them off the event loop (PBKDF2 is slow on purpose).
        case needsVerification(Verification)
    }

    struct Verification: Sendable {
        let credentials: ProxyCredentials
        let password: String
        let stored: StoredHash
        let digest: Data

        /// Derives the key and compares; a match is remembered. Blocks for the PBKDF2 rounds.
        func run() -> Bool {
            guard let derived = try? KDF.Insecure.PBKDF2.deriveKey(
                from: Data(password.utf8), salt: stored.salt, using: .sha256, outputByteCount: stored.hash.count,
                unsafeUncheckedRounds: stored.rounds)
            else { return false }
            let matches = derived.withUnsafeBytes { Data($0) } == stored.hash
            if matches { credentials.remember(digest) }
            return matches
        }
    }

    /// What `headers`' Basic credentials are worth against `usersFile`, without deriving a key on
    /// the caller's thread: known ones answer at once, new ones come back to be verified.
    func check(_ headers: HTTPHeaders, usersFile: String?) -> Check {
        guard let usersFile, let value = headers.first(name: "proxy-authorization") else { return .refused }
        let digest = Data(SHA256.hash(data: Data(value.utf8)))
        let (known, hashes) = users.withLockedValue { users -> (Bool, [String: StoredHash]) in
            reloadIfChanged(&users, path: usersFile)
            return (users.verified.contains(digest), users.hashes)
        }
        if known { return .accepted }
        guard let (name, password) = Self.basicCredentials(value), let stored = hashes[name] else { return .refused }
        return .needsVerification(Verification(credentials: self, password: password, stored: stored, digest: digest))
    }

    private func remember(_ digest: Data) {
        users.withLockedValue { users in
            if users.verified.count >= Self.maximumVerified { users.verified.removeAll() }
            users.verified.insert(digest)
        }
    }

    /// Re-reads the file when its path or modification time changed; its time is looked at
    /// once a second at most, so a request costs no file system call.
    private func reloadIfChanged(_ users: inout Users, path: String) {
        let now = Date()
        guard users.path != path || now.timeIntervalSince(users.lastLooked) >= 1 else { return }
        users.lastLooked = now
        let modified = (try? FileManager.default.attributesOfItem(atPath: path))?[.modificationDate] as? Date
        guard users.path != path || users.modified != modified else { return }
        users = Users(path: path, modified: modified, lastLooked: now)
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return }
        for line in text.split(whereSeparator: \.isNewline) where !line.hasPrefix("#") {
            let parts = line.split(separator: ":", maxSplits: 1)
            guard parts.count == 2, let stored = Self.parse(String(parts[1])) else { continue }
            users.hashes[String(parts[0])] = stored
        }
    }

    /// `pbkdf2-sha256$ROUNDS$SALT$HASH`.
    static func parse(_ text: String) -> StoredHash? {
        let parts = text.split(separator: "$")
        guard parts.count == 4, parts[0] == "pbkdf2-sha256", let rounds = Int(parts[1]), rounds > 0,
              let salt = Data(base64Encoded: String(parts[2])), let hash = Data(base64Encoded: String(parts[3])), !hash.isEmpty
        else { return nil }
        return StoredHash(rounds: rounds, salt: salt, hash: hash)
    }

    /// RFC 7617 §2: `Basic base64(user-id ":" password)`.
    static func basicCredentials(_ value: String) -> (String, String)? {
        let parts = value.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "basic",
              let decoded = Data(base64Encoded: String(parts[1]).trimmingCharacters(in: .whitespaces)),
              let text = String(data: decoded, encoding: .utf8), let colon = text.firstIndex(of: ":")
        else { return nil }
        return (String(text[..<colon]), String(text[text.index(after: colon)...]))
    }

    /// A users-file line for `name` and `password` (`outpostctl hash-password`, tests).
    public static func usersFileLine(name: String, password: String, rounds: Int = 210_000) throws -> String {
        var salt = Data(count: 16)
        for index in salt.indices { salt[index] = UInt8.random(in: 0...255) }
        let key = try KDF.Insecure.PBKDF2.deriveKey(from: Data(password.utf8), salt: salt, using: .sha256, outputByteCount: 32,
                                                    unsafeUncheckedRounds: rounds)
        let hash = key.withUnsafeBytes { Data($0) }
        return "\(name):pbkdf2-sha256$\(rounds)$\(salt.base64EncodedString())$\(hash.base64EncodedString())"
    }
}
