import Foundation

/// Machine-readable results on stdout: key-sorted JSON with snake_case keys.
enum JSONOutput {
    /// The value as JSON text; pretty (multi-line) or as one compact line.
    static func text<T: Encodable>(_ value: T, pretty: Bool = true) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = pretty ? [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            : [.sortedKeys, .withoutEscapingSlashes]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    /// Pretty JSON on stdout (single results).
    static func print<T: Encodable>(_ value: T) throws {
        Swift.print(try text(value))
    }

    /// One compact JSON object per line on stdout (lists).
    static func printLine<T: Encodable>(_ value: T) throws {
        Swift.print(try text(value, pretty: false))
    }
}
