// The admin API's routes: authentication, then one handler per endpoint. JSON in, JSON out,
// errors as `ErrorMessage` with a fitting status. See docs/admin-api.yaml.
//
// Invariants: every route but /healthz requires the token (bearer header, or the status page's
// cookie), compared in constant time; the token is never logged or echoed. Work that blocks
// (SQLite, files) runs on the thread pool, never on an event loop.
import AdminProtocol
import CacheStore
import EdgeCache
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import OriginClient

/// What the admin API reads and acts on.
public struct AdminSources: Sendable {
    public var engine: CacheEngine
    public var memory: MemoryTier
    /// The disk tier, when the node has one (its reads block: use `pool`).
    public var disk: DiskTier?
    public var origin: OriginClient
    /// `POST /reload` runs what the node sets here.
    public var reload: ReloadTrigger

    public init(engine: CacheEngine, memory: MemoryTier, disk: DiskTier?, origin: OriginClient, reload: ReloadTrigger = ReloadTrigger()) {
        self.engine = engine
        self.memory = memory
        self.disk = disk
        self.origin = origin
        self.reload = reload
    }
}

public struct AdminRouter: Sendable {
    let sources: AdminSources
    let token: String
    let traffic: TrafficRecorder
    let metrics: MetricsExposition
    let pool: NIOThreadPool
    let logger: Logger
    let startedAt: Double

    public init(sources: AdminSources, token: String, traffic: TrafficRecorder, pool: NIOThreadPool, logger: Logger) {
        self.sources = sources
        self.token = token
        self.traffic = traffic
        self.metrics = MetricsExposition()
        self.pool = pool
        self.logger = logger
        self.startedAt = Date().timeIntervalSince1970
    }

    public func respond(to request: AdminRequest) async -> AdminResponse {
        if request.path == "/healthz" {
            return request.method == .GET || request.method == .HEAD ? Self.json(Health()) : Self.notAllowed("GET")
        }
        guard isAuthorized(request) else {
            if request.path == "/", request.method == .GET { return StatusPage.signIn }
            var headers = HTTPHeaders()
            headers.add(name: "www-authenticate", value: "Bearer realm=\"outpost-admin\"")
            var response = Self.error(.unauthorized, "missing or wrong admin token (Authorization: Bearer TOKEN)")
            response.headers.add(contentsOf: headers)
            return response
        }
        switch (request.path, request.method) {
        case ("/", .GET): return StatusPage.page
        case ("/purge", .POST): return await purge(request)
        case ("/stats", .GET): return await statsResponse()
        case ("/metrics", .GET): return await metricsResponse()
        case ("/entries", .GET): return await entries(request)
        case ("/entry", .GET): return await entry(request)
        case ("/readyz", .GET): return await readiness()
        case ("/reload", .POST): return await reload()
        case ("/", _), ("/stats", _), ("/metrics", _), ("/entries", _), ("/entry", _), ("/readyz", _): return Self.notAllowed("GET")
        case ("/purge", _), ("/reload", _): return Self.notAllowed("POST")
        default: return Self.error(.notFound, "no such endpoint: \(request.path)")
        }
    }

    /// Bearer header or cookie, compared without leaking the match length through timing.
    func isAuthorized(_ request: AdminRequest) -> Bool {
        var offered: [String] = []
        for value in request.headers["authorization"] {
            let parts = value.split(separator: " ", maxSplits: 1)
            if parts.count == 2, parts[0].lowercased() == "bearer" { offered.append(parts[1].trimmingCharacters(in: .whitespaces)) }
        }
        for line in request.headers["cookie"] {
            for pair in line.split(separator: ";") {
                let nameAndValue = pair.trimmingCharacters(in: .whitespaces).split(separator: "=", maxSplits: 1)
                if nameAndValue.count == 2, nameAndValue[0] == AdminAPI.tokenCookie { offered.append(String(nameAndValue[1])) }
            }
        }
        return offered.contains { Self.constantTimeEqual($0, token) }
    }

    static func constantTimeEqual(_ left: String, _ right: String) -> Bool {
        let a = Array(left.utf8), b = Array(right.utf8)
        var difference = UInt8(a.count == b.count ? 0 : 1)
        for index in 0..<max(a.count, b.count) {
            difference |= (index < a.count ? a[index] : 0) ^ (index < b.count ? b[index] : 0)
        }
        return difference == 0
    }

    private func readiness() async -> AdminResponse {
        let health = sources.origin.healthReport()
        let healthy = health.filter(\.healthy).count
        var indexOpen: Bool?
        if let disk = sources.disk {
            indexOpen = (try? await pool.runIfActive { disk.indexIsReadable }) ?? false
        }
        // The admin listener starts after the public one is bound and stops before it closes,
        // so while this answers, the public listener is listening.
        let listening = true
        let ready = listening && indexOpen != false && healthy > 0
        let body = Readiness(ready: ready, listening: listening, indexOpen: indexOpen, healthyOrigins: healthy, origins: health.count)
        return Self.json(body, status: ready ? .ok : .serviceUnavailable)
    }

    private func metricsResponse() async -> AdminResponse {
        let figures = await storageFigures()
        let text = metrics.exposition(stats: sources.engine.stats.snapshot, memory: figures.memory, disk: figures.disk,
                                      origins: sources.origin.healthReport(), live: sources.engine.stats)
        return AdminResponse(status: .ok, contentType: "text/plain; version=0.0.4; charset=utf-8", body: Array(text.utf8))
    }

    // MARK: answers

    static func json(_ value: some Encodable, status: HTTPResponseStatus = .ok) -> AdminResponse {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let body = (try? encoder.encode(value)).map { Array($0) + [UInt8(ascii: "\n")] } ?? Array("{}\n".utf8)
        return AdminResponse(status: status, contentType: "application/json", body: body)
    }

    static func error(_ status: HTTPResponseStatus, _ message: String) -> AdminResponse {
        json(ErrorMessage(error: message), status: status)
    }

    static func notAllowed(_ allowed: String) -> AdminResponse {
        var response = error(.methodNotAllowed, "this endpoint accepts \(allowed) only")
        response.headers.add(name: "allow", value: allowed)
        return response
    }
}
