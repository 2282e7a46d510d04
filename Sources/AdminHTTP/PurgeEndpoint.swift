// POST /purge: turns a PurgeRequest into a selection, applies it to memory and disk through the
// engine (both done before answering), and answers the receipt. Logged at notice level with what
// was asked and what went, so every purge leaves a trace.
import AdminProtocol
import CachePolicy
import CacheStore
import EdgeCache
import Foundation
import NIOHTTP1

extension AdminRouter {
    func purge(_ request: AdminRequest) async -> AdminResponse {
        let started = ContinuousClock.now
        let purge: PurgeRequest
        do {
            purge = try JSONDecoder().decode(PurgeRequest.self, from: Data(request.body))
        } catch {
            return Self.error(.badRequest, "the body is not a purge request: \(Self.describe(error))")
        }
        let selection: PurgeSelection
        let mode: String, value: String?
        switch Self.selection(for: purge, engine: sources.engine) {
        case .failure(let message): return Self.error(.badRequest, message.text)
        case .success(let chosen): (selection, mode, value) = chosen
        }
        let dryRun = purge.dryRun ?? false, soft = purge.soft ?? false
        let action: PurgeAction = dryRun ? .count : soft ? .markStale(at: sources.engine.configuration.clock.now()) : .remove
        var outcome = await sources.engine.purge(selection, action: action)
        if case .key(let key) = selection {
            // The same URL fetched through a forward listener is stored under its own key.
            let forwarded = await sources.engine.purge(.key(PrimaryKey.forward(key)), action: action, counted: false)
            outcome.memory += forwarded.memory
            if let disk = forwarded.disk { outcome.disk = (outcome.disk ?? []) + disk }
        }
        let variants = outcome.variants
        let elapsed = ContinuousClock.now - started
        let receipt = PurgeReceipt(
            mode: mode, value: value, soft: soft, dryRun: dryRun, objects: Set(variants.map(\.key)).count, variants: variants.count,
            bytes: variants.reduce(0) { $0 + $1.bodyLength },
            memory: TierCount(variants: outcome.memory.count, bytes: outcome.memory.reduce(0) { $0 + $1.bodyLength }),
            disk: outcome.disk.map { TierCount(variants: $0.count, bytes: $0.reduce(0) { $0 + $1.bodyLength }) },
            milliseconds: Double(elapsed.components.attoseconds) / 1e15 + Double(elapsed.components.seconds) * 1000)
        logger.notice("purge", metadata: [
            "mode": "\(mode)", "value": "\(value ?? "-")", "soft": "\(soft)", "dry-run": "\(dryRun)",
            "objects": "\(receipt.objects)", "variants": "\(receipt.variants)", "bytes": "\(receipt.bytes)",
        ])
        return Self.json(receipt)
    }

    struct Message: Error { var text: String }

    /// Exactly one of url, prefix, tag, all; a prefix may name a scheme, a host or only a path.
    static func selection(for purge: PurgeRequest, engine: CacheEngine) -> Result<(PurgeSelection, String, String?), Message> {
        let given = [purge.url != nil, purge.prefix != nil, purge.tag != nil, purge.all != nil].filter { $0 }.count
        guard given == 1 else {
            return .failure(Message(text: "give exactly one of \"url\", \"prefix\", \"tag\" or \"all\": true"))
        }
        if let url = purge.url {
            guard let key = engine.key(forURL: url) else {
                return .failure(Message(text: "\"url\" must be an absolute http:// or https:// URL, e.g. http://example.com/index.html"))
            }
            return .success((.key(key), "url", url))
        }
        if let prefix = purge.prefix {
            guard !prefix.isEmpty else { return .failure(Message(text: "\"prefix\" is empty")) }
            if prefix.hasPrefix("/") { return .success((.pathPrefix(prefix), "prefix", prefix)) }
            if prefix.hasPrefix("http://") || prefix.hasPrefix("https://") { return .success((.urlPrefixes([prefix]), "prefix", prefix)) }
            guard !prefix.contains("://") else { return .failure(Message(text: "\"prefix\" must be http://…, https://…, host/path or /path")) }
            return .success((.urlPrefixes(["http://" + prefix, "https://" + prefix]), "prefix", prefix))
        }
        if let tag = purge.tag {
            guard !tag.isEmpty else { return .failure(Message(text: "\"tag\" is empty")) }
            return .success((.tag(tag), "tag", tag))
        }
        guard purge.all == true else { return .failure(Message(text: "\"all\" must be true when given")) }
        return .success((.all, "all", nil))
    }

    static func describe(_ error: any Error) -> String {
        switch error {
        case DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context),
             DecodingError.dataCorrupted(let context):
            let path = context.codingPath.map(\.stringValue).joined(separator: ".")
            return path.isEmpty ? context.debugDescription : "\(path): \(context.debugDescription)"
        default:
            return "\(error)"
        }
    }
}
