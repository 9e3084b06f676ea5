#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// CPU time consumed, in seconds.
///
/// Wall time would count a thread waiting on the network as work; CPU time is what
/// decoding actually takes away from analysis, which is the split the live engine reports.
public enum ThreadCPUClock {
    /// CPU time of the calling thread.
    public static func seconds() -> Double { read(CLOCK_THREAD_CPUTIME_ID) }

    /// CPU time of the whole process, all threads (FFmpeg's decoding threads included).
    public static func processSeconds() -> Double { read(CLOCK_PROCESS_CPUTIME_ID) }

    private static func read(_ clock: clockid_t) -> Double {
        var spec = timespec()
        guard clock_gettime(clock, &spec) == 0 else { return 0 }
        return Double(spec.tv_sec) + Double(spec.tv_nsec) / 1e9
    }
}
