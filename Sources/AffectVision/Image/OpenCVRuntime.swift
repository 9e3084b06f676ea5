import CVBridge

/// One-time OpenCV set-up shared by everything that calls into the bridge.
enum OpenCVRuntime {
    /// OpenCV's own log lines would interleave with Affect's one-line errors on
    /// stderr; every failure already reaches Swift through a return value.
    static let prepared: Void = cvb_silence_logging()
}
