// `POST /reload`: the same reload as SIGHUP (see OutpostNode's Node+Reload). The work reads files
// and loads certificates, so it runs on the admin thread pool, never on an event loop. A failed
// reload answers 422 and names why; the running configuration stays.
import AdminProtocol
import NIOConcurrencyHelpers
import NIOHTTP1

/// Where the admin API finds the node's reload; set once the node is running.
public final class ReloadTrigger: Sendable {
    private let action = NIOLockedValueBox<(@Sendable () throws -> ReloadReport)?>(nil)

    public init() {}

    public func set(_ reload: @escaping @Sendable () throws -> ReloadReport) {
        action.withLockedValue { $0 = reload }
    }

    /// Runs the reload; throws when it failed (nothing was changed) or no reload is set.
    public func run() throws -> ReloadReport {
        guard let reload = action.withLockedValue({ $0 }) else { throw ReloadUnavailable() }
        return try reload()
    }
}

struct ReloadUnavailable: Error, CustomStringConvertible {
    var description: String { "this node cannot reload" }
}

extension AdminRouter {
    func reload() async -> AdminResponse {
        let trigger = sources.reload
        do {
            let report = try await pool.runIfActive { try trigger.run() }
            return Self.json(report)
        } catch {
            return Self.error(.unprocessableEntity, "reload failed; the running configuration stays: \(error)")
        }
    }
}
