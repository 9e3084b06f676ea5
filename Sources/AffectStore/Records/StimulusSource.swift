import Foundation

/// Where a stimulus's media is, as the participant's browser gets it.
///
/// Never a path on the server: a path chosen by an API caller would let whoever holds a participant
/// link download any file the server can read (its database included). Media either lives on
/// another web server (the browser is redirected there) or was uploaded to this server, which keeps
/// it in its own stimuli folder under a name it chose itself.
public enum StimulusSource: Sendable, Hashable {
    /// An `http://` or `https://` address the browser plays directly.
    case url(String)
    /// A file this server keeps in its stimuli folder; `file` is a bare name it made (`<uuid>.mp4`).
    case upload(file: String)
    /// A server path stored by an Affect before path sources were refused; nothing is served for it
    /// until the media is uploaded again.
    case retiredPath

    /// The longest URL accepted (browsers and proxies commonly stop near 8 KB; media URLs are short).
    public static let maximumURLLength = 2048

    /// Why a source was refused; the messages are fixed, so nothing the caller sent is echoed.
    public enum Refusal: Error, Sendable, Hashable, CustomStringConvertible {
        case notWebAddress
        case tooLong
        case credentials
        case badUploadName

        public var description: String {
            switch self {
            case .notWebAddress:
                "a stimulus source must be an http:// or https:// address; to use a file, upload it (POST .../stimuli/upload)"
            case .tooLong: "a stimulus address must be at most \(StimulusSource.maximumURLLength) characters"
            case .credentials: "a stimulus address must not carry a user name or password (participants would see them)"
            case .badUploadName: "an uploaded stimulus is named by the server"
            }
        }
    }

    /// The grammar of an accepted web address, the same text as `source`'s `pattern` in the OpenAPI
    /// document (a test holds them equal): `http`/`https`, a host name or IPv4 address of letters,
    /// digits, dots and inner dashes, an optional port, then an optional path and query of URL
    /// characters and percent escapes. No user name or password (an `@` before the path), no
    /// whitespace, no control characters, no fragment (browsers keep it to themselves).
    public static let webAddressPattern =
        #"^[Hh][Tt][Tt][Pp][Ss]?://[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*(:[0-9]{1,5})?(/([A-Za-z0-9._~!$&'()*+,;=:@/-]|%[0-9A-Fa-f]{2})*)?(\?([A-Za-z0-9._~!$&'()*+,;=:@/?-]|%[0-9A-Fa-f]{2})*)?$"#

    /// A web address given by a user, matching ``webAddressPattern`` whole.
    public init(webAddress text: String) throws(Refusal) {
        guard text.unicodeScalars.count <= Self.maximumURLLength else { throw .tooLong }
        // `Regex` is not `Sendable`, so it is compiled per check rather than shared; a check is rare
        // (a researcher adding a stimulus) and compiling takes microseconds.
        guard let grammar = try? Regex(Self.webAddressPattern).matchingSemantics(.unicodeScalar),
              (try? grammar.wholeMatch(in: text)) != nil else {
            // Say why when it is the one mistake a user can make with an otherwise good address.
            if let authority = Self.authority(of: text), authority.contains("@") { throw .credentials }
            throw .notWebAddress
        }
        self = .url(text)
    }

    /// The part between `://` and the first `/`, `?` or `#`, when the text has a scheme.
    private static func authority(of text: String) -> Substring? {
        guard let schemeEnd = text.range(of: "://") else { return nil }
        let rest = text[schemeEnd.upperBound...]
        return rest.prefix(while: { !"/?#".contains($0) })
    }

    /// An upload's file name as the server made it: letters, digits and dashes, then `.mp4` or `.webm`.
    /// Nothing that could leave the stimuli folder (no `/`, no `..`) passes.
    public init(uploadedFile name: String) throws(Refusal) {
        let parts = name.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 2, ["mp4", "webm"].contains(parts[1]), (1...64).contains(parts[0].count),
              parts[0].unicodeScalars.allSatisfy({ $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "-") })
        else { throw .badUploadName }
        self = .upload(file: name)
    }

    static let uploadPrefix = "upload:"
    static let retiredText = "retired:server-path"

    /// As stored in `stimuli.source`.
    var storedText: String {
        switch self {
        case .url(let url): url
        case .upload(let file): Self.uploadPrefix + file
        case .retiredPath: Self.retiredText
        }
    }

    /// From `stimuli.source`. Text that is none of the three shapes (a path or a malformed address
    /// stored before these rules) reads as ``retiredPath``: it is never served.
    init(storedText text: String) {
        if text.hasPrefix(Self.uploadPrefix) {
            self = (try? StimulusSource(uploadedFile: String(text.dropFirst(Self.uploadPrefix.count)))) ?? .retiredPath
        } else {
            self = (try? StimulusSource(webAddress: text)) ?? .retiredPath
        }
    }
}

extension StimulusSource: Codable {
    /// Encoded as the stored text: the address, `upload:<file>` or `retired:server-path`.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(storedText)
    }

    public init(from decoder: any Decoder) throws {
        self = StimulusSource(storedText: try decoder.singleValueContainer().decode(String.self))
    }
}

