// The rules file's `access:` section (forward listeners): who may use the proxy, to reach what.
//
//   access:
//     connectPorts: [443, 8443]          # ports CONNECT may reach (default 443)
//     users: /etc/outpost/users          # name:hash lines for rules with `authenticate: true`
//     rules:                             # first match wins; no match denies
//       - name: staff
//         action: allow                  # allow | deny
//         clients: [10.0.0.0/8]          # CIDR blocks or addresses
//         hosts: ["*.example.com"]       # exact, *.suffix, or a glob with *
//         ports: [80, 443, 8000-8999]
//         methods: [GET, HEAD, CONNECT]
//         schemes: [http, tunnel]        # http, https, tunnel (CONNECT)
//         authenticate: true             # Proxy-Authorization: Basic checked against `users`
//
// Without the section, loopback and private networks may use the proxy (AccessRules.standard).
import CachePolicy
import Yams

extension NodeReader {
    func access(_ node: Node) throws(PolicyFileError) -> AccessRules {
        var access = AccessRules(rules: [])
        for (key, keyNode, value) in try mapping(node, "'access'") {
            switch key {
            case "connectPorts": access.connectPorts = try ports(value, key)
            case "users": access.usersFile = try scalar(value, key)
            case "rules":
                guard case .sequence(let sequence) = value else { throw error(value, "'access.rules' must be a list") }
                for item in sequence { access.rules.append(try accessRule(item, number: access.rules.count + 1)) }
            default: throw error(keyNode, "unknown key 'access.\(key)'")
            }
        }
        if access.rules.contains(where: \.authenticate), access.usersFile == nil {
            throw error(node, "a rule with 'authenticate: true' needs 'access.users' (a file of name:hash lines)")
        }
        return access
    }

    private func accessRule(_ node: Node, number: Int) throws(PolicyFileError) -> AccessRule {
        var rule = AccessRule(name: "access-\(number)", action: .deny)
        var action: AccessRule.Action?
        for (key, keyNode, value) in try mapping(node, "an access rule") {
            switch key {
            case "name": rule.name = try scalar(value, key)
            case "action":
                let text = try scalar(value, key)
                guard let chosen = AccessRule.Action(rawValue: text) else { throw error(value, "'action' must be allow or deny (got '\(text)')") }
                action = chosen
            case "clients":
                for (text, itemNode) in try strings(value, key) {
                    guard let range = AddressRange(text) else { throw error(itemNode, "'\(text)' is not an address or CIDR block") }
                    rule.clients.append(range)
                }
            case "hosts":
                for (text, itemNode) in try strings(value, key) {
                    guard let glob = HostGlob(text) else { throw error(itemNode, "bad host pattern '\(text)'") }
                    rule.hosts.append(glob)
                }
            case "ports": rule.ports = try ports(value, key)
            case "methods":
                rule.methods = try strings(value, key).map { text, _ in text.uppercased() }
            case "schemes":
                for (text, itemNode) in try strings(value, key) {
                    guard ["http", "https", "tunnel"].contains(text) else { throw error(itemNode, "scheme must be http, https or tunnel (got '\(text)')") }
                    rule.schemes.append(text)
                }
            case "authenticate": rule.authenticate = try bool(value, key)
            default: throw error(keyNode, "unknown key '\(key)' in access rule")
            }
        }
        guard let action else { throw error(node, "access rule '\(rule.name)' needs 'action: allow' or 'action: deny'") }
        rule.action = action
        return rule
    }

    /// Ports and ranges: `443`, `8000-8999`, or a list of them.
    private func ports(_ node: Node, _ key: String) throws(PolicyFileError) -> [ClosedRange<Int>] {
        var result: [ClosedRange<Int>] = []
        for (text, itemNode) in try strings(node, key) {
            let bounds = text.split(separator: "-", maxSplits: 1).map { Int($0) }
            guard let low = bounds.first ?? nil, let high = bounds.last ?? nil, 1 <= low, low <= high, high <= 65_535 else {
                throw error(itemNode, "'\(text)' is not a port or a port range (1-65535)")
            }
            result.append(low...high)
        }
        return result
    }
}
