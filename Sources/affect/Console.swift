import Foundation

/// Messages for people go to stderr; stdout carries only machine-readable results.
enum Console {
    static let isInteractive = isatty(2) == 1

    static func error(_ message: String) {
        clearProgress()
        FileHandle.standardError.write(Data("affect: \(message)\n".utf8))
    }

    static func info(_ message: String) {
        clearProgress()
        FileHandle.standardError.write(Data("\(message)\n".utf8))
    }

    nonisolated(unsafe) private static var progressShown = false
    nonisolated(unsafe) private static var lastProgress = ContinuousClock.now

    /// A one-line progress indicator, redrawn at most five times a second, only on a terminal.
    static func progress(_ label: String, done: Int, total: Int?) {
        guard isInteractive, lastProgress.duration(to: .now) > .milliseconds(200) else { return }
        lastProgress = .now
        let text: String
        if let total, total > 0 {
            text = "\(label): \(done)/\(total) (\(min(100, done * 100 / total))%)"
        } else {
            text = "\(label): \(done)"
        }
        FileHandle.standardError.write(Data("\r\u{1B}[K\(text)".utf8))
        progressShown = true
    }

    static func clearProgress() {
        guard progressShown else { return }
        FileHandle.standardError.write(Data("\r\u{1B}[K".utf8))
        progressShown = false
    }
}
