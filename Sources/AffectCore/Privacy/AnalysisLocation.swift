/// Where a webcam study's pictures are analysed.
public enum AnalysisLocation: String, Sendable, Hashable, Codable, CaseIterable {
    /// On the server: the page sends camera frames (in memory only) over its WebSocket.
    case server
    /// In the participant's browser: the page runs the models itself and sends only the results;
    /// no picture leaves the device.
    case device
}
