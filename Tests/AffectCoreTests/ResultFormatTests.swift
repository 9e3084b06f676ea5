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

    static let measures = FaceMeasures(headPose: .init(yaw: -12.5, pitch: 3, roll: 4.25), gaze: .init(yaw: -20, pitch: -1),
                                       eyesOpen: .init(left: 0.75, right: 0.25), mouthOpen: 0.5,
                                       geometry: .init(smile: 0.125, browRaise: 0.375), attending: true)

    @Test func measuresSitBesideTheFaceAndRoundTrip() throws {
        var measured = face
        measured.measures = Self.measures
        measured.blink = Blink(onsetMilliseconds: 920, durationMilliseconds: 160)
        let line = try ResultFormat.jsonl.lines(for: FrameResult(frame: 1, timeMilliseconds: 40, faces: [measured]))[0]
        let object = try #require(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        let faceObject = try #require((object["faces"] as? [[String: Any]])?.first)
        #expect(Set(faceObject.keys).isSuperset(of: ["head_pose", "gaze", "eyes_open", "mouth_open", "geometry", "attending",
                                                     "blink"]))
        #expect((faceObject["head_pose"] as? [String: Double]) == ["yaw": -12.5, "pitch": 3, "roll": 4.25])
        #expect((faceObject["eyes_open"] as? [String: Double]) == ["left": 0.75, "right": 0.25, "mean": 0.5])
        #expect((faceObject["geometry"] as? [String: Double]) == ["smile": 0.125, "brow_raise": 0.375])
        #expect((faceObject["blink"] as? [String: Double]) == ["onset_ms": 920, "duration_ms": 160])
        let decoded = try JSONDecoder().decode(FrameResult.self, from: Data(line.utf8))
        #expect(decoded.faces.first?.measures == Self.measures)
        #expect(decoded.faces.first?.blink == measured.blink)
        let plain = try JSONDecoder().decode(FrameResult.self,
                                             from: Data(try ResultFormat.jsonl.lines(for: FrameResult(frame: 1, timeMilliseconds: 40, faces: [face]))[0].utf8))
        #expect(plain.faces.first?.measures == nil)

        let header = try #require(ResultFormat.csv.header).split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        let row = try ResultFormat.csv.lines(for: FrameResult(frame: 1, timeMilliseconds: 40, faces: [measured]))[0]
            .split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        let columns = Dictionary(uniqueKeysWithValues: zip(header, row))
        #expect(columns["head_yaw"] == "-12.5" && columns["head_roll"] == "4.25" && columns["gaze_yaw"] == "-20")
        #expect(columns["eyes_open"] == "0.5" && columns["mouth_open"] == "0.5" && columns["attending"] == "true")
        #expect(columns["smile_geometry"] == "0.125" && columns["blink_onset_ms"] == "920" && columns["blink_duration_ms"] == "160")
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
