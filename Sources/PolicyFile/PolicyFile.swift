// PolicyFile: loads an operator rules file (YAML) into `PolicyRules`.
//
// Invariants: the loader is strict — an unknown key, a value of the wrong type, a bad duration
// (`10x`), a bad size, a bad host or path pattern is an error, never silently ignored, and every
// error names its place as `file:line: reason` (lines from the YAML node marks). The shipped
// defaults live in `cache-policy/default.yaml` and, identically, in `PolicyFile.embeddedDefault`.

import CachePolicy
import Foundation
import Yams

/// An error in a rules file, rendered `file:line: reason`.
public struct PolicyFileError: Error, Hashable, Sendable, CustomStringConvertible {
    public var file: String
    /// 1-based line number (0 when unknown).
    public var line: Int
    public var reason: String

    public init(file: String, line: Int, reason: String) {
        self.file = file
        self.line = line
        self.reason = reason
    }

    public var description: String { "\(file):\(line): \(reason)" }
}

/// Rules file loading.
public enum PolicyFile {
    /// The file name used in errors about the embedded defaults.
    public static let embeddedDefaultName = "cache-policy/default.yaml"

    /// The shipped defaults, parsed.
    public static func defaultRules() throws(PolicyFileError) -> PolicyRules {
        try parse(embeddedDefault, file: embeddedDefaultName)
    }

    /// Reads and parses a rules file.
    public static func load(path: String) throws(PolicyFileError) -> PolicyRules {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw PolicyFileError(file: path, line: 0, reason: "cannot read file: \(error.localizedDescription)")
        }
        return try parse(text, file: path)
    }

    /// Parses rules file text; `file` names it in errors.
    public static func parse(_ text: String, file: String) throws(PolicyFileError) -> PolicyRules {
        let node: Node?
        do {
            node = try Yams.compose(yaml: text)
        } catch {
            throw syntaxError(error, file: file)
        }
        let reader = NodeReader(file: file)
        guard let node else { return PolicyRules() }
        return try reader.rules(node)
    }

    static func syntaxError(_ error: any Error, file: String) -> PolicyFileError {
        guard let yamlError = error as? YamlError else {
            return PolicyFileError(file: file, line: 0, reason: "YAML error: \(error)")
        }
        switch yamlError {
        case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _),
             .composer(_, let problem, let mark, _):
            return PolicyFileError(file: file, line: mark.line, reason: "YAML syntax error: \(problem)")
        case .duplicatedKeysInMapping(let duplicates, let context):
            return PolicyFileError(file: file, line: context.mark.line,
                                   reason: "duplicate key \(duplicates.joined(separator: ", "))")
        default:
            return PolicyFileError(file: file, line: 0, reason: "YAML error: \(yamlError)")
        }
    }
}
