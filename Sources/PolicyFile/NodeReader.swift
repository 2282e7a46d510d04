// NodeReader: turns a composed YAML document into `PolicyRules`, checking every key and value.
//
// File layout (see cache-policy/default.yaml):
//   version: 1
//   node: { cacheControlField: ..., surrogateDeviceToken: ..., eviction: s3-fifo | lru }
//   defaults: <settings>
//   rules: [ { name, hosts, paths, <settings> }, ... ]
//   access: { connectPorts, users, rules: [ { name, action, clients, hosts, ports, methods, schemes, authenticate } ] }
// Settings that can be switched off accept `off`.

import CachePolicy
import Yams

struct NodeReader {
    let file: String

    static let settingKeys: Set<String> = [
        "bypass", "forceTTL", "maxTTL", "heuristicFraction", "heuristicCap", "defaultTTL", "statusTTL",
        "grace", "setCookie", "sortQuery", "dropQueryParameters", "normaliseAcceptEncoding", "maxVariants",
        "maxObjectSize", "requestRate", "requestBurst",
    ]

    func error(_ node: Node?, _ reason: String) -> PolicyFileError {
        PolicyFileError(file: file, line: node?.mark?.line ?? 0, reason: reason)
    }

    func mapping(_ node: Node, _ what: String) throws(PolicyFileError) -> [(key: String, keyNode: Node, value: Node)] {
        guard case .mapping(let mapping) = node else { throw error(node, "\(what) must be a mapping") }
        var entries: [(key: String, keyNode: Node, value: Node)] = []
        for (key, value) in mapping {
            guard case .scalar(let scalar) = key else { throw error(key, "\(what) keys must be plain names") }
            if entries.contains(where: { $0.key == scalar.string }) { throw error(key, "duplicate key '\(scalar.string)'") }
            entries.append((scalar.string, key, value))
        }
        return entries
    }

    func scalar(_ node: Node, _ key: String) throws(PolicyFileError) -> String {
        guard case .scalar(let scalar) = node else { throw error(node, "'\(key)' must be a single value") }
        return scalar.string
    }

    func rules(_ root: Node) throws(PolicyFileError) -> PolicyRules {
        var rules = PolicyRules()
        var defaults = RuleOverrides()
        var targeting = TargetedFields()
        for (key, keyNode, value) in try mapping(root, "the rules file") {
            switch key {
            case "version":
                guard try scalar(value, key) == "1" else { throw error(value, "unsupported version (expected 1)") }
            case "node":
                for (nodeKey, nodeKeyNode, nodeValue) in try mapping(value, "'node'") {
                    let text = try scalar(nodeValue, nodeKey)
                    switch nodeKey {
                    case "cacheControlField":
                        guard FieldSyntax.isToken(text) else { throw error(nodeValue, "'\(text)' is not a valid field name") }
                        targeting.nodeFieldName = text
                    case "surrogateDeviceToken":
                        guard FieldSyntax.isToken(text) else { throw error(nodeValue, "'\(text)' is not a valid device token") }
                        targeting.surrogateDeviceToken = text
                    case "eviction":
                        guard let choice = EvictionChoice(rawValue: text) else {
                            let names = EvictionChoice.allCases.map(\.rawValue).joined(separator: ", ")
                            throw error(nodeValue, "'eviction' must be one of \(names) (got '\(text)')")
                        }
                        rules.eviction = choice
                    default:
                        throw error(nodeKeyNode, "unknown key 'node.\(nodeKey)'")
                    }
                }
            case "defaults":
                for (settingKey, settingKeyNode, settingValue) in try mapping(value, "'defaults'") {
                    guard Self.settingKeys.contains(settingKey) else {
                        throw error(settingKeyNode, "unknown key 'defaults.\(settingKey)'")
                    }
                    try setting(settingKey, settingValue, into: &defaults)
                }
            case "access":
                rules.access = try access(value)
            case "rules":
                guard case .sequence(let sequence) = value else { throw error(value, "'rules' must be a list") }
                for item in sequence { rules.rules.append(try rule(item)) }
            default:
                throw error(keyNode, "unknown key '\(key)'")
            }
        }
        var settings = defaults.applied(to: RuleSettings())
        settings.targeting = targeting
        rules.defaults = settings
        return rules
    }

    func rule(_ node: Node) throws(PolicyFileError) -> Rule {
        var rule = Rule()
        for (key, keyNode, value) in try mapping(node, "a rule") {
            switch key {
            case "name":
                rule.name = try scalar(value, key)
            case "hosts":
                for (text, itemNode) in try strings(value, key) {
                    guard let pattern = HostPattern(text) else { throw error(itemNode, "bad host pattern '\(text)'") }
                    rule.hosts.append(pattern)
                }
            case "paths":
                for (text, itemNode) in try strings(value, key) {
                    if let problem = PathPattern.problem(text) { throw error(itemNode, "bad path pattern '\(text)': \(problem)") }
                    rule.paths.append(PathPattern(text)!)
                }
            default:
                guard Self.settingKeys.contains(key) else { throw error(keyNode, "unknown key '\(key)' in rule") }
                try setting(key, value, into: &rule.overrides)
            }
        }
        return rule
    }

    /// A string or a list of strings.
    func strings(_ node: Node, _ key: String) throws(PolicyFileError) -> [(String, Node)] {
        switch node {
        case .scalar(let scalar): return [(scalar.string, node)]
        case .sequence(let sequence):
            var result: [(String, Node)] = []
            for item in sequence { result.append((try scalar(item, key), item)) }
            return result
        default: throw error(node, "'\(key)' must be a string or a list of strings")
        }
    }

    func isOff(_ text: String) -> Bool {
        text == "off" || text == "null" || text == "~" || text.isEmpty
    }

    func setting(_ key: String, _ node: Node, into overrides: inout RuleOverrides) throws(PolicyFileError) {
        switch key {
        case "bypass":
            let text = try scalar(node, key)
            overrides.bypass = .some(isOff(text) || text == "false" ? nil : text)
        case "forceTTL": overrides.forceTTL = .some(try optionalDuration(node, key))
        case "maxTTL": overrides.maxTTL = .some(try optionalDuration(node, key))
        case "defaultTTL": overrides.defaultTTL = .some(try optionalDuration(node, key))
        case "heuristicCap": overrides.heuristicCap = try duration(node, key)
        case "grace": overrides.grace = try duration(node, key)
        case "heuristicFraction":
            let text = try scalar(node, key)
            if isOff(text) {
                overrides.heuristicFraction = .some(nil)
            } else {
                guard let fraction = Double(text), fraction >= 0, fraction <= 1 else {
                    throw error(node, "'heuristicFraction' must be a number between 0 and 1, or off (got '\(text)')")
                }
                overrides.heuristicFraction = .some(fraction)
            }
        case "statusTTL":
            var table: [Int: Double] = [:]
            for (statusText, statusNode, value) in try mapping(node, "'statusTTL'") {
                guard let status = Int(statusText), (200...599).contains(status) else {
                    throw error(statusNode, "'\(statusText)' is not a status code (200-599)")
                }
                table[status] = try duration(value, "statusTTL.\(status)")
            }
            overrides.statusTTLs = table
        case "setCookie":
            let text = try scalar(node, key)
            guard let handling = SetCookieHandling(rawValue: text) else {
                throw error(node, "'setCookie' must be one of do-not-store, omit-field, store (got '\(text)')")
            }
            overrides.setCookie = handling
        case "requestRate":
            let text = try scalar(node, key)
            if isOff(text) {
                overrides.requestRate = .some(nil)
            } else {
                guard let rate = Double(text.hasSuffix("/s") ? String(text.dropLast(2)) : text), rate > 0, rate.isFinite else {
                    throw error(node, "'requestRate' must be requests per second (e.g. 50 or 50/s), or off (got '\(text)')")
                }
                overrides.requestRate = .some(rate)
            }
        case "requestBurst":
            let text = try scalar(node, key)
            guard let burst = Int(text), burst >= 1, burst <= 1_000_000 else {
                throw error(node, "'requestBurst' must be a whole number from 1 to 1000000 (got '\(text)')")
            }
            overrides.requestBurst = burst
        case "sortQuery": overrides.sortQuery = try bool(node, key)
        case "normaliseAcceptEncoding": overrides.normaliseAcceptEncoding = try bool(node, key)
        case "dropQueryParameters":
            guard case .sequence(let sequence) = node else { throw error(node, "'dropQueryParameters' must be a list") }
            var patterns: [QueryParameterPattern] = []
            for item in sequence {
                let text = try scalar(item, key)
                guard let pattern = QueryParameterPattern(text) else {
                    throw error(item, "bad query parameter pattern '\(text)' (a name, or a prefix ending in '*')")
                }
                patterns.append(pattern)
            }
            overrides.dropQueryParameters = patterns
        case "maxVariants":
            let text = try scalar(node, key)
            guard let count = Int(text), count >= 1 else { throw error(node, "'maxVariants' must be a positive integer (got '\(text)')") }
            overrides.maxVariants = count
        case "maxObjectSize":
            let text = try scalar(node, key)
            guard let size = Self.size(text) else {
                throw error(node, "bad size '\(text)' for 'maxObjectSize' (use e.g. 512KiB, 10MiB, 1GiB)")
            }
            overrides.maxObjectSize = size
        default:
            throw error(node, "unknown key '\(key)'")
        }
    }

    func bool(_ node: Node, _ key: String) throws(PolicyFileError) -> Bool {
        switch try scalar(node, key) {
        case "true": return true
        case "false": return false
        case let text: throw error(node, "'\(key)' must be true or false (got '\(text)')")
        }
    }

    func duration(_ node: Node, _ key: String) throws(PolicyFileError) -> Double {
        let text = try scalar(node, key)
        guard let seconds = Self.duration(text) else {
            throw error(node, "bad duration '\(text)' for '\(key)' (use e.g. 30s, 5m, 1h, 2d)")
        }
        return seconds
    }

    func optionalDuration(_ node: Node, _ key: String) throws(PolicyFileError) -> Double? {
        let text = try scalar(node, key)
        return isOff(text) ? nil : try duration(node, key)
    }

    /// `30s`, `5m`, `1h`, `2d`, `1w`, or `0`.
    static func duration(_ text: String) -> Double? {
        if text == "0" { return 0 }
        guard let unit = text.last, let count = Int(text.dropLast()), count >= 0,
              text.dropLast().allSatisfy(\.isASCIIDigit) else { return nil }
        switch unit {
        case "s": return Double(count)
        case "m": return Double(count) * 60
        case "h": return Double(count) * 3600
        case "d": return Double(count) * 86_400
        case "w": return Double(count) * 604_800
        default: return nil
        }
    }

    /// `512KiB`, `10MiB`, `1GiB`, `100KB`, `2MB`, `1GB`, `100B`, or a plain byte count.
    static func size(_ text: String) -> Int? {
        let digits = text.prefix { $0.isASCIIDigit }
        guard !digits.isEmpty, let count = Int(digits) else { return nil }
        let multipliers: [String: Int] = ["": 1, "B": 1, "KiB": 1024, "MiB": 1 << 20, "GiB": 1 << 30,
                                          "KB": 1000, "MB": 1_000_000, "GB": 1_000_000_000]
        guard let multiplier = multipliers[String(text.dropFirst(digits.count))] else { return nil }
        let (product, overflow) = count.multipliedReportingOverflow(by: multiplier)
        return overflow ? nil : product
    }
}

extension Character {
    var isASCIIDigit: Bool { ("0"..."9").contains(self) }
}
