/// How much of what the pipeline computes may be stored: the study's data minimisation setting.
///
/// The mode is enforced where results are written (the store refuses rows the mode
/// does not allow), not by whoever calls it.
public enum ProcessingMode: String, Sendable, Hashable, Codable, CaseIterable {
    /// Per-face, per-frame scores, with pseudonymous ephemeral track ids.
    case individual
    /// Only windowed aggregates (default 10 s) per session; per-frame scores never leave memory.
    case aggregate
    /// Per frame, one distribution pooled over all faces, and the face count: no tracks, no per-face
    /// rows. The non-individual approach for rooms and cameras.
    case group

    /// The aggregate window when a study does not set one.
    public static let defaultWindowMilliseconds = 10_000.0
}
