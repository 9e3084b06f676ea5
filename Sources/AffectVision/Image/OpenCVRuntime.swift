import CVBridge

/// Process-wide OpenCV settings.
public enum OpenCVRuntime {
    /// OpenCV's own log lines would interleave with Affect's one-line errors on
    /// stderr; every failure already reaches Swift through a return value.
    static let prepared: Void = cvb_silence_logging()

    /// Limits the threads OpenCV uses inside one call (a forward pass, a resize).
    ///
    /// Affect parallelises across frames with its own workers, one per core; OpenCV's
    /// pool inside each call would only compete with them (measured: no gain at two
    /// workers on two cores, and worse tail latency).
    public static func limitThreadsPerCall(to threads: Int) {
        cvb_set_num_threads(Int32(threads))
    }
}
