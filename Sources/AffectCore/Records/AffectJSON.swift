import Foundation

/// The one JSON configuration Affect writes and reads everywhere: the API, the WebSocket messages,
/// the dashboard's events, reports and the command line. Keys are snake_case and sorted (so output is
/// stable and diffable), slashes are not escaped.
///
/// Canonical JSON that is hashed (provenance ids, audit details) is deliberately not written with it:
/// the snake_case strategy also rewrites a dictionary's keys, which there are data, and a hash must
/// never change with a setting.
public enum AffectJSON {
    /// An encoder with Affect's settings; `pretty` adds line breaks and indentation for people.
    public static func encoder(pretty: Bool = false) -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = pretty ? [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            : [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }

    /// A decoder for what ``encoder(pretty:)`` writes (snake_case keys).
    public static func decoder() -> JSONDecoder {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return decoder
    }
}
