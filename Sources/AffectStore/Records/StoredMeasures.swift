import AffectCore
import Foundation

/// A face's measures and blink as one `face_results.measures` value.
struct FaceMeasuresColumn: Codable {
    var measures: FaceMeasures
    var blink: Blink?
}

/// The JSON text the `measures` columns hold, written as results files are (``ResultFormat/jsonEncoder()``):
/// a row reads back exactly as written.
enum StoredMeasures {
    static func encode<T: Encodable>(_ value: T) throws -> String {
        String(decoding: try ResultFormat.jsonEncoder().encode(value), as: UTF8.self)
    }

    static func decode<T: Decodable>(_ type: T.Type, _ text: String) throws -> T {
        do {
            return try JSONDecoder().decode(type, from: Data(text.utf8))
        } catch {
            throw StoreError.corruptRow(column: "measures")
        }
    }
}
