import Foundation

/// Machine-readable encodings of frame results.
public enum ResultFormat: String, CaseIterable, Sendable {
    /// One JSON object per analysed frame and line.
    case jsonl
    /// One row per face (or one row with empty face columns for a frame without faces).
    case csv

    /// The CSV header row, or nil for formats without one.
    public var header: String? {
        switch self {
        case .jsonl: nil
        case .csv:
            (["frame", "t_ms", "face", "track", "x", "y", "w", "h", "score"] + Emotion.allCases.map(\.rawValue)
                + ["dominant", "valence", "arousal"]).joined(separator: ",")
        }
    }

    /// The lines that encode one frame result, without trailing newlines.
    public func lines(for result: FrameResult) throws -> [String] {
        switch self {
        case .jsonl:
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            return [String(decoding: try encoder.encode(result), as: UTF8.self)]
        case .csv:
            let prefix = "\(result.frame),\(Self.number(result.timeMilliseconds))"
            guard !result.faces.isEmpty else {
                return [prefix + String(repeating: ",", count: 7 + Emotion.allCases.count + 3)]
            }
            return result.faces.enumerated().map { index, face in
                let box = [face.box.x, face.box.y, face.box.width, face.box.height, face.score]
                let point = face.circumplex
                let track: String = face.track.map { String($0) } ?? ""
                var fields: [String] = [prefix, String(index), track]
                fields += box.map(Self.number)
                fields += Emotion.allCases.map { Self.number(face.emotions[$0]) }
                fields += [face.dominant.rawValue, Self.number(point.valence), Self.number(point.arousal)]
                return fields.joined(separator: ",")
            }
        }
    }

    private static func number(_ value: Double) -> String {
        String(format: "%.6g", value)
    }
}
