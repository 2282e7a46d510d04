// The disk tier's index as other tools will read it: validators, freshness facts, tags and uses
// in columns of their own; heads in a newer format left alone, damaged ones removed; failures
// logged once per condition. Also the helpers the disk tests use to look inside a tier's
// directory and to record its log.
import CachePolicy
import CacheStore
import Foundation
import GRDB
import Logging
import NIOCore
import OutpostTesting
import Testing

extension DiskTierTests {
    @Test("the index records validators, freshness facts, tags and uses in columns")
    func indexColumns() throws {
        let directory = makeTemporaryDirectory()
        let tier = try DiskTier(directory: directory, capacityBytes: 1 << 20)
        var response = makeResponse(key: "k", fields: [("ETag", "\"e1\""), ("Last-Modified", "Tue, 01 Jan 2030 00:00:00 GMT")])
        response.tags = ["red", "blue", "red"]
        #expect(store(tier, response, body: "body"))
        #expect(tier.recordFreshUntil(sampleTime + 60, key: "k", variantKey: ""))
        #expect(tier.recordFreshUntil(sampleTime, key: "absent", variantKey: "") == false)
        #expect(tier.variants(for: "k").count == 1)
        #expect(tier.variants(for: "k").count == 1)
        // Uses are written with the next write: any commit.
        #expect(store(tier, makeResponse(key: "other"), body: "x"))

        let row = try #require(
            try DatabaseQueue(path: directory + "/index.sqlite").read { database in
                try Row.fetchOne(database, sql: "SELECT * FROM objects WHERE key = 'k'")
            })
        #expect(row["etag"] as String? == "\"e1\"")
        #expect(row["last_modified"] as String? == "Tue, 01 Jan 2030 00:00:00 GMT")
        #expect(row["fresh_until"] as Double? == sampleTime.seconds + 60)
        #expect(row["response_time"] as Double? == sampleTime.seconds + 1)
        #expect(row["hits"] as Int? == 2)
        #expect(row["body_length"] as Int? == 4)
        let tags = try DatabaseQueue(path: directory + "/index.sqlite").read { database in
            try String.fetchAll(database, sql: "SELECT tag FROM tags WHERE object_id = ? ORDER BY tag", arguments: [row["id"] as Int64])
        }
        #expect(tags == ["blue", "red"])
        #expect(DiskTier.indexSchemaVersion == 2)
    }

    @Test("a head in a newer format is skipped, neither served nor deleted, and a damaged head is removed")
    func headVersions() throws {
        let directory = makeTemporaryDirectory()
        let tier = try DiskTier(directory: directory, capacityBytes: 1 << 20)
        #expect(store(tier, makeResponse(key: "newer"), body: "body"))
        #expect(store(tier, makeResponse(key: "damaged"), body: "body"))
        let queue = try DatabaseQueue(path: directory + "/index.sqlite")
        try queue.write { database in
            try database.execute(sql: #"UPDATE objects SET head = CAST('{"version":2}' AS BLOB) WHERE key = 'newer'"#)
            try database.execute(sql: "UPDATE objects SET head = CAST('not json' AS BLOB) WHERE key = 'damaged'")
        }

        #expect(tier.variants(for: "newer").isEmpty)
        #expect(try rowCount(of: "newer", in: directory) == 1)
        #expect(tier.variants(for: "damaged").isEmpty)
        #expect(try rowCount(of: "damaged", in: directory) == 0)
        #expect(tier.corruptBodiesDetected == 1)
    }
}

// MARK: - Looking inside the directory

/// The absolute path of the body file of the (only) variant of `key`, read from the index.
func bodyFile(of key: String, in directory: String) throws -> String? {
    let queue = try DatabaseQueue(path: directory + "/index.sqlite")
    let path = try queue.read { try String.fetchOne($0, sql: "SELECT body_path FROM objects WHERE key = ?", arguments: [key]) }
    return path.map { directory + "/bodies/" + $0 }
}

func rowCount(of key: String, in directory: String) throws -> Int {
    let queue = try DatabaseQueue(path: directory + "/index.sqlite")
    return try queue.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM objects WHERE key = ?", arguments: [key]) ?? -1 }
}

/// Every file under bodies/ except bodies/tmp.
func committedBodyFiles(in directory: String) throws -> [String] {
    let root = directory + "/bodies"
    let all = FileManager.default.enumerator(atPath: root)?.compactMap { $0 as? String } ?? []
    return all.filter { $0.hasSuffix(".body") && !$0.hasPrefix("tmp") }.map { root + "/" + $0 }
}

// MARK: - Logging

extension DiskTierTests {
    @Test("a write failure is logged once per condition; a corrupt index is logged as critical")
    func loggingOncePerCondition() throws {
        let records = LogRecords()
        let logger = records.logger(label: "disk-tier-test")
        let directory = makeTemporaryDirectory()
        try Data("not a database, not at all".utf8).write(to: URL(fileURLWithPath: directory + "/index.sqlite"))

        let tier = try DiskTier(directory: directory, capacityBytes: 1 << 20, inlineBodyLimit: 0, logger: logger)
        #expect(records.messages(at: .critical).count == 1)
        try FileManager.default.removeItem(atPath: directory + "/bodies/tmp")
        #expect(FileManager.default.createFile(atPath: directory + "/bodies/tmp", contents: Data()))
        for number in 0..<3 { #expect(store(tier, makeResponse(key: "k\(number)"), body: "lost") == false) }

        #expect(tier.writeFailures == 3)
        #expect(records.messages(at: .error) == ["disk cache write failed"])
    }
}
