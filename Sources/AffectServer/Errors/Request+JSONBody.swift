import Foundation
import Hummingbird

extension Request {
    /// Decodes a JSON body with the context's decoder (snake_case keys). Refusals are fixed messages that
    /// name at most the field, by its name in our own types: never a value that was sent (Foundation's
    /// own messages quote it, e.g. an unknown enum value).
    func decodeJSON<Body: Decodable>(as type: Body.Type, context: AffectRequestContext) async throws -> Body {
        let buffer: ByteBuffer
        do {
            buffer = try await body.collect(upTo: context.maxUploadSize)
        } catch {
            throw HTTPError(.contentTooLarge, message: "a JSON request body is at most \(context.maxUploadSize / 1024) KB")
        }
        // No body at all reads as `{}`: a route whose fields all have defaults needs none.
        let bytes = buffer.readableBytes == 0 ? Data("{}".utf8) : Data(buffer.readableBytesView)
        do {
            return try context.requestDecoder.decode(type, from: bytes)
        } catch let error as DecodingError {
            throw HTTPError(.badRequest, message: Self.message(for: error))
        } catch {
            throw HTTPError(.badRequest, message: "the request body is not valid JSON (see /openapi.json)")
        }
    }

    static func message(for error: DecodingError) -> String {
        switch error {
        case .keyNotFound(let key, let context):
            "the request body needs \"\(fieldName(context.codingPath + [key]))\" (see /openapi.json)"
        case .typeMismatch(_, let context), .valueNotFound(_, let context), .dataCorrupted(let context):
            context.codingPath.isEmpty
                ? "the request body is not valid JSON (see /openapi.json)"
                : "the request body's \"\(fieldName(context.codingPath))\" is not valid (see /openapi.json)"
        @unknown default:
            "the request body is not valid JSON (see /openapi.json)"
        }
    }

    /// The first key of a coding path, in snake_case: a field of our own request types. Deeper keys can
    /// be dictionary keys the caller chose, so they are left out.
    static func fieldName(_ path: [any CodingKey]) -> String {
        guard let first = path.first, first.intValue == nil else { return "body" }
        let name = first.stringValue
        guard name.count <= 40, name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }) else { return "body" }
        return name.reduce(into: "") { text, character in
            if character.isUppercase { text += "_" + character.lowercased() } else { text.append(character) }
        }
    }
}
