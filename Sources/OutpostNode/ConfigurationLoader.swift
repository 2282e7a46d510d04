// Builds the effective NodeConfiguration: defaults, then the YAML file (flat keys named like the
// flags, `origin` may be a list), then the flags. A flag given on the command line replaces the
// file's value; for `origin`, the command line's list replaces the file's list.
// Every error names where the bad value came from: `--flag`, or `file:line: key`.
import Foundation
import Yams

public enum ConfigurationLoader {
    public static func load(configFile: String?, flags: [(name: String, value: String)]) throws -> NodeConfiguration {
        var configuration = NodeConfiguration()
        if let configFile {
            let text: String
            do {
                text = try String(contentsOfFile: configFile, encoding: .utf8)
            } catch {
                throw ConfigurationError(setting: "--config", message: "cannot read \(configFile): \(error.localizedDescription)")
            }
            try apply(yaml: text, file: configFile, to: &configuration)
        }
        var replaced: Set<String> = []
        for (name, value) in flags {
            guard let setting = NodeSettings.named(name) else {
                throw ConfigurationError(setting: "--\(name)", message: "unknown setting")
            }
            if setting.repeatable && !replaced.contains(name) {
                replaced.insert(name)
                NodeSettings.clear(name, in: &configuration)
            }
            do throws(SettingValueError) {
                try setting.apply(&configuration, value)
            } catch {
                throw ConfigurationError(setting: "--\(name)", message: error.message)
            }
        }
        return configuration
    }

    static func apply(yaml: String, file: String, to configuration: inout NodeConfiguration) throws {
        let root: Yams.Node?
        do {
            root = try Yams.compose(yaml: yaml)
        } catch let error as YamlError {
            throw ConfigurationError(setting: file, message: "not valid YAML: \(error)")
        }
        guard let root else { return }  // an empty file changes nothing
        guard let mapping = root.mapping else {
            throw ConfigurationError(setting: "\(file):\(line(root))", message: "the file must be a mapping of setting: value")
        }
        for (keyNode, valueNode) in mapping {
            let where_ = "\(file):\(line(keyNode))"
            guard let key = keyNode.string else {
                throw ConfigurationError(setting: where_, message: "setting names must be strings")
            }
            guard let setting = NodeSettings.named(key) else {
                throw ConfigurationError(setting: "\(where_): \(key)", message: "unknown setting")
            }
            var values: [Yams.Node] = [valueNode]
            if let sequence = valueNode.sequence {
                guard setting.repeatable else {
                    throw ConfigurationError(setting: "\(where_): \(key)", message: "takes one value, not a list")
                }
                values = Array(sequence)
            }
            for value in values {
                guard let text = value.scalar?.string else {
                    throw ConfigurationError(setting: "\(file):\(line(value)): \(key)", message: "expected a plain value")
                }
                do throws(SettingValueError) {
                    try setting.apply(&configuration, text)
                } catch {
                    throw ConfigurationError(setting: "\(file):\(line(value)): \(key)", message: error.message)
                }
            }
        }
    }

    private static func line(_ node: Yams.Node) -> Int { (node.mark?.line ?? 0) }
}
