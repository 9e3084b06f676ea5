import AffectCore
import Foundation

/// Machine-readable results on stdout: key-sorted JSON with snake_case keys.
enum JSONOutput {
    /// The value as JSON text; pretty (multi-line) or as one compact line.
    static func text<T: Encodable>(_ value: T, pretty: Bool = true) throws -> String {
        String(decoding: try AffectJSON.encoder(pretty: pretty).encode(value), as: UTF8.self)
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
