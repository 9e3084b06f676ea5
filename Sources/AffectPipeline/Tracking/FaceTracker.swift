import AffectCore

/// Follows faces from one analysed frame to the next with ephemeral track ids.
///
/// Association uses only geometry, box overlap (IoU) and landmark distance,
/// never appearance: no embeddings are computed, so a track cannot be used to
/// recognise a person, and a face that leaves for longer than the expiry gets a
/// new id when it returns.
public struct FaceTracker: Sendable {
    public struct Configuration: Sendable, Hashable {
        /// Minimum box overlap for a match when landmarks disagree.
        public var minimumIoU: Double
        /// Largest mean landmark distance, as a fraction of the track's box size, that still matches.
        public var maximumLandmarkDistance: Double
        /// A track not seen for this long ends.
        public var expiryMilliseconds: Double

        public init(minimumIoU: Double = 0.3, maximumLandmarkDistance: Double = 0.35, expiryMilliseconds: Double = 1000) {
            self.minimumIoU = minimumIoU
            self.maximumLandmarkDistance = maximumLandmarkDistance
            self.expiryMilliseconds = expiryMilliseconds
        }
    }

    /// What one update did to the set of tracks.
    public struct Update: Sendable, Hashable {
        /// The track id of each input face, in input order.
        public var assignments: [Int]
        /// Ids of tracks that began with this frame.
        public var started: [Int]
        /// Ids of tracks that ended (expired) at this frame.
        public var ended: [Int]
    }

    struct Track: Sendable, Hashable {
        var id: Int
        var box: Box
        var landmarks: [Point]
        var lastSeen: Double
    }

    public let configuration: Configuration
    private(set) var tracks: [Track] = []
    private var nextID = 1

    public init(configuration: Configuration = .init()) {
        self.configuration = configuration
    }

    /// Ids of the tracks alive now.
    public var activeTracks: [Int] { tracks.map(\.id) }

    /// Matches the faces of a new frame to the existing tracks, starts tracks
    /// for unmatched faces and ends tracks unseen for longer than the expiry.
    public mutating func update(boxes: [Box], landmarks: [[Point]], at timeMilliseconds: Double) -> Update {
        var ended: [Int] = []
        tracks.removeAll { track in
            let expired = timeMilliseconds - track.lastSeen > configuration.expiryMilliseconds
            if expired { ended.append(track.id) }
            return expired
        }
        // Every plausible (track, face) pair with its cost; the cheapest pairs are matched first.
        var pairs: [(cost: Double, track: Int, face: Int)] = []
        for (trackIndex, track) in tracks.enumerated() {
            for faceIndex in boxes.indices {
                let overlap = track.box.iou(boxes[faceIndex])
                let distance = landmarkDistance(track, landmarks[faceIndex], box: boxes[faceIndex])
                let closeLandmarks = distance.map { $0 <= configuration.maximumLandmarkDistance } ?? false
                guard overlap >= configuration.minimumIoU || closeLandmarks else { continue }
                pairs.append(((1 - overlap) + (distance ?? 1), trackIndex, faceIndex))
            }
        }
        pairs.sort { $0.cost < $1.cost }
        var assignments = [Int?](repeating: nil, count: boxes.count)
        var usedTracks = Set<Int>()
        for pair in pairs where assignments[pair.face] == nil && !usedTracks.contains(pair.track) {
            assignments[pair.face] = tracks[pair.track].id
            usedTracks.insert(pair.track)
            tracks[pair.track].box = boxes[pair.face]
            tracks[pair.track].landmarks = landmarks[pair.face]
            tracks[pair.track].lastSeen = timeMilliseconds
        }
        var started: [Int] = []
        let resolved = boxes.indices.map { index -> Int in
            if let id = assignments[index] { return id }
            let id = nextID
            nextID += 1
            tracks.append(Track(id: id, box: boxes[index], landmarks: landmarks[index], lastSeen: timeMilliseconds))
            started.append(id)
            return id
        }
        return Update(assignments: resolved, started: started, ended: ended)
    }

    /// Ends every track (at the end of a source).
    public mutating func finish() -> [Int] {
        defer { tracks.removeAll() }
        return tracks.map(\.id)
    }

    /// Mean landmark distance relative to the box diagonal; nil when the landmarks cannot be compared.
    private func landmarkDistance(_ track: Track, _ points: [Point], box: Box) -> Double? {
        guard !points.isEmpty, points.count == track.landmarks.count else { return nil }
        let scale = max(1, (track.box.width * track.box.width + track.box.height * track.box.height).squareRoot())
        let total = zip(track.landmarks, points).reduce(0.0) { sum, pair in
            let dx = pair.0.x - pair.1.x, dy = pair.0.y - pair.1.y
            return sum + (dx * dx + dy * dy).squareRoot()
        }
        return total / Double(points.count) / scale
    }
}
