import AffectCore
import Foundation
import Testing

@Suite struct ResultFormatTests {
    let face = FaceResult(box: Box(x: 1, y: 2, width: 3, height: 4), score: 0.97,
                          landmarks: [Point(x: 1.5, y: 2.5)],
                          emotions: EmotionDistribution(scores: [0, 0, 0, 9, 0, 0, 1] as [Double]) ?? .uniform)

    @Test func jsonLineHasTheDocumentedKeys() throws {
        let lines = try ResultFormat.jsonl.lines(for: FrameResult(frame: 37, timeMilliseconds: 1480, faces: [face]))
        #expect(lines.count == 1)
        let object = try #require(JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as? [String: Any])
        #expect(object["frame"] as? Int == 37)
        #expect(object["t_ms"] as? Double == 1480)
        let faces = try #require(object["faces"] as? [[String: Any]])
        #expect(Set(faces[0].keys) == ["box", "score", "landmarks", "emotions", "dominant", "valence", "arousal"])
        #expect(faces[0]["box"] as? [Double] == [1, 2, 3, 4])
        #expect(faces[0]["dominant"] as? String == "happy")
        #expect((faces[0]["emotions"] as? [String: Double])?["happy"] == 0.9)
    }

    @Test func frameWithoutFacesHasAnEmptyList() throws {
        let line = try ResultFormat.jsonl.lines(for: FrameResult(frame: 0, timeMilliseconds: 0, faces: []))[0]
        let object = try #require(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        #expect((object["faces"] as? [Any])?.isEmpty == true)
    }

    @Test func csvRowsMatchTheHeader() throws {
        let header = try #require(ResultFormat.csv.header).split(separator: ",", omittingEmptySubsequences: false)
        let rows = try ResultFormat.csv.lines(for: FrameResult(frame: 5, timeMilliseconds: 200, faces: [face, face]))
        #expect(rows.count == 2)
        for row in rows { #expect(row.split(separator: ",", omittingEmptySubsequences: false).count == header.count) }
        let empty = try ResultFormat.csv.lines(for: FrameResult(frame: 6, timeMilliseconds: 240, faces: []))
        #expect(empty.count == 1)
        #expect(empty[0].split(separator: ",", omittingEmptySubsequences: false).count == header.count)
        #expect(rows[1].hasPrefix("5,200,1,"))
    }
}
