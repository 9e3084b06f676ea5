import AffectCore
import Testing

/// Finding 6 of P6: names took 1 MB, control characters, bidi overrides and ANSI escapes; k took 2^62,
/// a link's lifetime 1e-9 hours; a study could be named like another study's id.
@Suite struct InputRulesTests {
    func refusal(_ body: () throws(InputRules.Violation) -> Void) -> String? {
        do {
            try body()
            return nil
        } catch {
            return error.description
        }
    }

    @Test func labelsRefuseWhatWouldMisleadAReader() {
        let hostile = [
            String(repeating: "a", count: 1_000_000), "", "   ", "Trailer\u{0}", "Trailer\n", "\u{1B}[31mred\u{1B}[0m",
            "abc\u{202E}txt.exe", "a\u{2066}b", "a\u{200F}b", "line\u{2028}break", "del\u{7F}", "c1\u{85}",
        ]
        for text in hostile {
            let message = refusal { () throws(InputRules.Violation) in try InputRules.label(text, field: "a study name") }
            #expect(message != nil, "refused: \(text.unicodeScalars.prefix(12).map { String($0.value, radix: 16) })")
            if text.count > 3 { #expect(message.map { !$0.contains(text) } ?? false, "never echoed") }
        }
        for text in ["Trailer A/B", "Bande-annonce été", "予告編", "إعلان", "Test 👍", "Zero\u{200D}joiner"] {
            #expect(refusal { () throws(InputRules.Violation) in try InputRules.label(text, field: "a study name") } == nil, "\(text)")
        }
    }

    /// schemathesis found a name of 196 characters but 201 code points (a skin-tone modifier, marks)
    /// accepted where the API document's `maxLength: 200` counts code points.
    @Test func lengthsAreCountedInCodePointsAsTheDocumentCountsThem() {
        let name = "Ò🏻" + String(repeating: "*", count: 198)  // 200 code points: the most a name may have
        #expect(refusal { () throws(InputRules.Violation) in try InputRules.label(name, field: "a name") } == nil)
        #expect(refusal { () throws(InputRules.Violation) in try InputRules.label(name + "\u{301}", field: "a name") } != nil,
                "a combining mark adds no character but one code point")
    }

    @Test func purposesMayHaveLineBreaksButNoOtherControls() {
        #expect(refusal { () throws(InputRules.Violation) in try InputRules.prose("Which cut\nholds attention\tmost", field: "p") } == nil)
        #expect(refusal { () throws(InputRules.Violation) in try InputRules.prose("bell\u{7}", field: "p") } != nil)
        #expect(refusal { () throws(InputRules.Violation) in try InputRules.prose("a\u{202D}b", field: "p") } != nil)
        #expect(refusal { () throws(InputRules.Violation) in try InputRules.prose(String(repeating: "x", count: 4001), field: "p") } != nil)
    }

    @Test func studyNamesCannotLookLikeIds() {
        #expect(InputRules.looksLikeIdentifier("st_0123456789abcdef"))
        #expect(InputRules.looksLikeIdentifier("p_0123456789abcdef"))
        #expect(!InputRules.looksLikeIdentifier("st_0123456789ABCDEF"))
        #expect(!InputRules.looksLikeIdentifier("st_0123"))
        #expect(!InputRules.looksLikeIdentifier("Trailer"))
        #expect(refusal { () throws(InputRules.Violation) in try InputRules.studyName("st_0123456789abcdef") } != nil)
        #expect(refusal { () throws(InputRules.Violation) in try InputRules.studyName("st_trailer") } == nil)
    }

    @Test func rangesHaveBothEnds() {
        #expect(refusal { () throws(InputRules.Violation) in try InputRules.k(1 << 62) } != nil)
        #expect(refusal { () throws(InputRules.Violation) in try InputRules.k(1) } != nil)
        #expect(refusal { () throws(InputRules.Violation) in try InputRules.k(5) } == nil)
        for hours in [1e-9, 0, -1, .nan, .infinity, 9000] {
            #expect(refusal { () throws(InputRules.Violation) in try InputRules.hours(hours) } != nil, "\(hours)")
        }
        for hours in [1.0 / 60, 72, 8784] {
            #expect(refusal { () throws(InputRules.Violation) in try InputRules.hours(hours) } == nil, "\(hours)")
        }
        for epsilon in [0, -0.1, .nan, .infinity, 10.5] {
            #expect(refusal { () throws(InputRules.Violation) in try InputRules.epsilon(epsilon, field: "ε") } != nil, "\(epsilon)")
        }
        #expect(refusal { () throws(InputRules.Violation) in try InputRules.epsilon(0.1, field: "ε") } == nil)
    }

    @Test func segmentsAreShortPlainAttributes() {
        #expect(refusal { () throws(InputRules.Violation) in try InputRules.segment(["age": "25-34", "region": "EU"]) } == nil)
        #expect(refusal { () throws(InputRules.Violation) in try InputRules.segment(["age": "<script>"]) } != nil)
        let many = Dictionary(uniqueKeysWithValues: (0..<11).map { ("k\($0)", "v") })
        #expect(refusal { () throws(InputRules.Violation) in try InputRules.segment(many) } != nil)
    }
}
