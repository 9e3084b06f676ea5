import AffectStore
import Foundation
import Hummingbird

/// Per-request state: who is calling (set by ``TokenAuthenticator``) and JSON in snake_case.
public struct AffectRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The API token that authenticated this request, if any.
    public var token: PrivacyStore.APIToken?

    public init(source: Source) {
        coreContext = .init(source: source)
        token = nil
    }

    public var requestDecoder: JSONDecoder {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return decoder
    }

    public var responseEncoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }
}
