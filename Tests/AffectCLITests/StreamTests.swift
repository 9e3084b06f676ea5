import AffectTestSupport
import Foundation
import Testing

/// Starts a test server that prints its port, runs `affect analyze URL ARGUMENTS` against it
/// (`$port` in the URL is the server's port), then stops the server.
func analyzeWhileServing(server: String, url: String, arguments: String) throws -> CommandResult {
    try CommandRunner.shell("""
        ports=$(mktemp)
        \(server) > "$ports" 2>/dev/null &
        server=$!
        for _ in $(seq 100); do [ -s "$ports" ] && break; sleep 0.1; done
        port=$(head -n 1 "$ports"); rm -f "$ports"
        "$AFFECT" analyze "\(url)" \(arguments)
        status=$?
        kill $server 2>/dev/null
        exit $status
        """)
}

/// A real HTTP Motion JPEG stream from tests/tools/mjpeg_server.py on 127.0.0.1.
@Suite(.enabled(if: TestEnvironment.hasSharedData && TestEnvironment.hasModels, "needs ../shared/data and models"))
struct StreamTests {
    func analyzeServedStream(mode: String, arguments: String) throws -> CommandResult {
        let clip = TestEnvironment.data("talking-heads/WDA_KatieHill_000.mp4")
        return try analyzeWhileServing(server: "python3 tests/tools/mjpeg_server.py '\(clip)' 30 \(mode)",
                                       url: "http://127.0.0.1:$port/stream.mjpg", arguments: arguments)
    }

    @Test func streamThatEndsIsAnalysedLive() throws {
        let result = try analyzeServedStream(mode: "end", arguments: "--every-frame --detector blazeface")
        #expect(result.status == 0, "\(result.stderr)")
        let lines = result.stdoutLines
        // Live streams may drop frames when the machine is busy; every result must still be in order.
        #expect(lines.count >= 10 && lines.count <= 30, "\(lines.count)")
        let indices = try lines.map { try #require(try jsonObject($0)["frame"] as? Int) }
        #expect(zip(indices.dropFirst(), indices).allSatisfy { $0 > $1 } && (indices.last ?? 0) <= 29)
        // Live sources are timed by a monotonic clock: increasing, about 40 ms apart at 25 fps.
        let times = try lines.map { try #require(try jsonObject($0)["t_ms"] as? Double) }
        #expect(zip(times.dropFirst(), times).allSatisfy { $0 > $1 })
        #expect((times.last ?? 0) > 500)
    }

    @Test func streamOfGarbageBytesIsAClearError() throws {
        let result = try analyzeServedStream(mode: "garbage", arguments: "--timeout 3")
        #expect(result.status == 69, "\(result.stderr)")
        #expect(result.stderr.split(separator: "\n").count == 1)
        #expect(result.stderr.contains("sent no video"))
        #expect(result.stdout.isEmpty)
    }

    @Test func streamThatStopsSendingTimesOut() throws {
        let result = try analyzeServedStream(mode: "stall", arguments: "--every-frame --detector blazeface --timeout 2")
        #expect(result.status == 74, "\(result.stderr)")
        #expect(result.stderr.contains("stopped sending"))
        // One line of error; a loaded machine may also log the load ladder stepping down.
        let said = result.stderr.split(separator: "\n").filter { !$0.contains("load ladder:") }
        #expect(said.count == 1, "\(result.stderr)")
        #expect(result.stdoutLines.count >= 10 && result.stdoutLines.count <= 30, "results before the stall are kept")
    }
}

/// MPEG-TS over UDP from ffmpeg on 127.0.0.1, as a camera or encoder would send it.
@Suite(.enabled(if: TestEnvironment.hasSharedData && TestEnvironment.hasModels, "needs ../shared/data and models"))
struct UDPStreamTests {
    @Test func udpStreamIsAnalysedLiveAndItsEndIsReported() throws {
        let clip = TestEnvironment.data("talking-heads/WDA_KatieHill_000.mp4")
        let port = Int.random(in: 20000...40000)
        let result = try CommandRunner.shell("""
            "$AFFECT" analyze udp://127.0.0.1:\(port) --timeout 3 --detector blazeface &
            engine=$!
            sleep 1
            ffmpeg -nostdin -loglevel error -re -i '\(clip)' -t 3 -an -c:v mpeg2video -q:v 4 -f mpegts udp://127.0.0.1:\(port)
            wait $engine
            """)
        #expect(result.status == 74, "\(result.stderr)")
        #expect(result.stderr.contains("stopped sending"))
        let frames = try result.stdoutLines.map(jsonObject)
        // About 3 s at an adaptive 2-10 analysed frames per second.
        #expect(frames.count >= 6 && frames.count <= 40, "\(frames.count)")
        #expect(frames.filter { ($0["faces"] as? [Any])?.count == 1 }.count >= frames.count * 9 / 10)
    }
}

/// RTSP from GStreamer's RTSP server (Debian packages) on 127.0.0.1.
@Suite(.enabled(if: TestEnvironment.hasSharedData && TestEnvironment.hasModels, "needs ../shared/data and models"))
struct RTSPStreamTests {
    func analyzeRTSP(serverSeconds: Double, arguments: String) throws -> CommandResult {
        let clip = TestEnvironment.data("talking-heads/WDA_EdMarkey0_000.mp4")
        return try analyzeWhileServing(server: "/usr/bin/python3 tests/tools/rtsp_server.py '\(clip)' \(serverSeconds)",
                                       url: "rtsp://127.0.0.1:$port/clip", arguments: arguments)
    }

    @Test func rtspStreamIsAnalysedLiveUntilTheServerStops() throws {
        let result = try analyzeRTSP(serverSeconds: 4, arguments: "--detector blazeface --timeout 3")
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr.contains("stream ended"))
        let frames = try result.stdoutLines.map(jsonObject)
        #expect(frames.count >= 5, "\(result.stderr)")
        #expect(frames.filter { ($0["faces"] as? [Any])?.count == 1 }.count >= frames.count * 9 / 10)
        #expect(result.stderr.contains("adaptive sampling triggers"), "live sources sample adaptively by default")
    }

    @Test func reconnectGivesUpClearlyWhenTheServerIsGone() throws {
        let result = try analyzeRTSP(serverSeconds: 3, arguments: "--detector blazeface --timeout 2 --reconnect --reconnect-limit 1")
        #expect(result.status == 69, "\(result.stderr)")
        #expect(result.stderr.contains("reconnect"))
        #expect(result.stderr.split(separator: "\n").last?.contains("unreachable") == true)
        #expect(!result.stdoutLines.isEmpty, "results from before the server stopped are kept")
    }
}
