import AffectCore
import AffectReport
@testable import AffectServer
import AffectStore
import AffectTestSupport
import Foundation
import Hummingbird
import HummingbirdTesting
import HummingbirdWSTesting
import Testing

/// A study that measures faces, end to end through the real server: two participants' webcam frames
/// (Katie Hill's talking head) become face rows with head pose, gaze, eyes, mouth and attention; the
/// results API and the report carry the audience attention curve and the measures' means; the dashboard's
/// feed has the attention curve. A study that does not measure stores none of it.
extension CaptureTests {
    func capture(_ fixture: Fixture, client: any TestClientProtocol, frames: Int) async throws {
        let secret = try await fixture.consentedLink()
        _ = try await client.ws("/p/\(secret)/ws") { inbound, outbound, _ in
            var messages = inbound.messages(maxSize: 1 << 16).makeAsyncIterator()
            _ = try await messages.next()
            try await Self.watch(outbound, count: frames)
            try await outbound.writeTextMessage(#"{"type": "end"}"#)
            while try await messages.next() != nil {}
        }
    }

    @Test(.enabled(if: ready)) func aStudyThatMeasuresFacesStoresAndReportsAttention() async throws {
        try await withServer(measures: true, k: 2) { client, fixture in
            #expect(TransparencyNotice.text(for: fixture.study.definition).contains("whether you are facing the screen"))
            try await capture(fixture, client: client, frames: 30)
            try await capture(fixture, client: client, frames: 30)
            let sessions = try await fixture.store.sessions(study: fixture.study.id)
            #expect(sessions.count == 2 && sessions.allSatisfy { $0.status == "completed" })
            var measured = 0
            for session in sessions {
                for case .face(let row) in try await fixture.store.results(session: session.id) {
                    guard let measures = row.measures else { continue }
                    measured += 1
                    #expect(row.frontal == measures.attending, "engagement is attention when faces are measured")
                    #expect(abs(measures.headPose.yaw) < 35 && abs(measures.headPose.roll) < 25, "\(measures.headPose)")
                    #expect((0...1).contains(measures.eyesOpen.mean) && (0...1).contains(measures.mouthOpen))
                }
            }
            #expect(measured >= 10, "faces measured in most analysed frames of two 3 s captures")

            let token = try await fixture.store.createToken(name: "ana", role: .analyst, studies: [fixture.study.id], actor: "test")
            let auth: HTTPFields = [.authorization: "Bearer \(token.secret)"]
            try await client.execute(uri: "/api/v1/studies/\(fixture.study.id)/results?bin_ms=1000", method: .get,
                                     headers: auth) { response in
                #expect(response.status == .ok)
                let results = try #require(try JSONSerialization.jsonObject(with: Data(String(buffer: response.body).utf8)) as? [String: Any])
                let bins = try #require(results["bins"] as? [[String: Any]])
                #expect(!bins.isEmpty)
                for bin in bins {
                    let attention = try #require(bin["attention"] as? [String: Any], "\(bin)")
                    #expect(attention["n"] as? Int == 2)
                    #expect(((attention["mean"] as? Double) ?? -1) >= 0)
                    let measures = try #require(bin["measures"] as? [String: [String: Any]])
                    #expect(Set(measures.keys).isSuperset(of: ["head_yaw", "head_pitch", "head_roll", "gaze_yaw", "eyes_open",
                                                               "mouth_open", "smile", "brow_raise"]))
                    #expect(bin["engagement"] != nil)
                    #expect(bin["blink_rate"] == nil, "captures sampled at 2 to 10 fps cannot see blinks: no rate, not 0")
                }
            }
            try await client.execute(uri: "/api/v1/studies/\(fixture.study.id)/report?format=html", method: .get,
                                     headers: auth) { response in
                let html = String(buffer: response.body)
                #expect(html.contains("attention [95% CI]") && html.contains("\"attention\"") && html.contains("head_yaw"))
                #expect(html.contains("id=\"eyes-0\"") && html.contains("the attention curve"))
            }
            try await client.execute(uri: "/api/v1/studies/\(fixture.study.id)/report?format=csv", method: .get,
                                     headers: auth) { response in
                let csv = String(buffer: response.body)
                #expect(csv.contains(",attention,2,") && csv.contains(",eyes_open,2,") && csv.contains(",gaze_yaw,2,"))
            }
            let audience = try #require(fixture.capture.feed.snapshot().audiences.first { $0.stimulus == fixture.stimulus.id })
            #expect(audience.points.contains { $0.attention != nil }, "the dashboard's audience has the attention curve")
        }
    }

    @Test(.enabled(if: ready)) func aStudyThatDoesNotMeasureFacesKeepsNoMeasures() async throws {
        try await withServer(measures: false) { client, fixture in
            try await capture(fixture, client: client, frames: 20)
            let session = try #require(try await fixture.store.sessions(study: fixture.study.id).first)
            let rows = try await fixture.store.results(session: session.id).compactMap { record -> FaceRow? in
                if case .face(let row) = record { return row }
                return nil
            }
            #expect(!rows.isEmpty && rows.allSatisfy { $0.measures == nil && $0.blink == nil })
            #expect(!TransparencyNotice.text(for: fixture.study.definition).contains("facing the screen"))
        }
    }
}
