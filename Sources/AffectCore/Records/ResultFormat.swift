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
                + ["dominant", "valence", "arousal"] + Self.measureColumns).joined(separator: ",")
        }
    }

    /// The encoder of results files: the records name their own keys (`t_ms`, `head_pose`...), so no key
    /// strategy applies; keys sorted. The store writes a face's measures with it too, so a row reads as
    /// the results file shows it.
    public static func jsonEncoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }

    /// The lines that encode one frame result, without trailing newlines.
    public func lines(for result: FrameResult) throws -> [String] {
        switch self {
        case .jsonl:
            return [String(decoding: try Self.jsonEncoder().encode(result), as: UTF8.self)]
        case .csv:
            let prefix = "\(result.frame),\(Self.number(result.timeMilliseconds))"
            guard !result.faces.isEmpty else {
                return [prefix + String(repeating: ",", count: 7 + Emotion.allCases.count + 3 + Self.measureColumns.count)]
            }
            return result.faces.enumerated().map { index, face in
                let box = [face.box.x, face.box.y, face.box.width, face.box.height, face.score]
                let point = face.circumplex
                let track: String = face.track.map { String($0) } ?? ""
                var fields: [String] = [prefix, String(index), track]
                fields += box.map(Self.number)
                fields += Emotion.allCases.map { Self.number(face.emotions[$0]) }
                fields += [face.dominant.rawValue, Self.number(point.valence), Self.number(point.arousal)]
                fields += Self.measureFields(face)
                return fields.joined(separator: ",")
            }
        }
    }

    /// Columns for the landmark stage's measures and blinks; empty when a face has none.
    static let measureColumns = ["head_yaw", "head_pitch", "head_roll", "gaze_yaw", "gaze_pitch", "eyes_open_left",
                                 "eyes_open_right", "eyes_open", "mouth_open", "smile_geometry", "brow_raise_geometry",
                                 "attending", "blink_onset_ms", "blink_duration_ms"]

    private static func measureFields(_ face: FaceResult) -> [String] {
        var fields: [String]
        if let m = face.measures {
            fields = [m.headPose.yaw, m.headPose.pitch, m.headPose.roll, m.gaze.yaw, m.gaze.pitch, m.eyesOpen.left,
                      m.eyesOpen.right, m.eyesOpen.mean, m.mouthOpen, m.geometry.smile, m.geometry.browRaise].map(number)
            fields.append(m.attending ? "true" : "false")
        } else {
            fields = Array(repeating: "", count: 12)
        }
        fields += face.blink.map { [number($0.onsetMilliseconds), number($0.durationMilliseconds)] } ?? ["", ""]
        return fields
    }

    private static func number(_ value: Double) -> String {
        String(format: "%.6g", value)
    }
}
