import AffectCore
import Foundation

extension StudyReport {
    /// The report as JSON, keys in snake_case: every number the HTML shows.
    public func json() throws -> String {
        String(decoding: try Self.encoder().encode(self), as: UTF8.self)
    }

    /// How a report and its parts are written as JSON (and a kept release is read back).
    static func encoder() -> JSONEncoder { AffectJSON.encoder(pretty: true) }

    static func decoder() -> JSONDecoder { AffectJSON.decoder() }

    /// The report as one long CSV table: a row per number, with its section and interval.
    public func csv() -> String {
        var rows = ["section,stimulus_id,stimulus,variant,t_ms,measure,n,mean,low,high,p,q"]
        func number(_ value: Double?) -> String { value.map { String(format: "%.6f", $0) } ?? "" }
        func field(_ text: String?) -> String {
            guard let text else { return "" }
            return text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" })
                ? "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : text
        }
        func estimates(_ section: String, _ stimulus: StimulusSection, time: String, _ values: [(String, Estimate?)]) {
            for (measure, estimate) in values {
                guard let estimate else { continue }
                rows.append([section, field(stimulus.stimulusId), field(stimulus.name), field(stimulus.variant), time, measure,
                             String(estimate.n), number(estimate.mean), number(estimate.low), number(estimate.high), "", ""]
                    .joined(separator: ","))
            }
        }
        for stimulus in stimuli {
            if let overall = stimulus.overall {
                estimates("overall", stimulus, time: "", Self.measures(overall.expressions, overall.valence, overall.arousal, overall.engagement)
                    + Self.faceMeasures(attention: overall.attention, measures: overall.measures ?? [:], blinkRate: nil))
            }
            for bin in stimulus.bins {
                estimates("bin", stimulus, time: String(format: "%.0f", bin.timeMilliseconds),
                          Self.measures(bin.expressions, bin.valence, bin.arousal, bin.engagement)
                            + Self.faceMeasures(attention: bin.attention, measures: bin.measures, blinkRate: bin.blinkRate))
            }
        }
        for comparison in comparisons {
            if let test = comparison.overall {
                rows.append(["comparison", "", field(comparison.name), field("\(comparison.variantA)-\(comparison.variantB)"), "",
                             comparison.measure, "\(test.a.count)+\(test.b.count)", number(test.difference),
                             number(test.differenceLow), number(test.differenceHigh), number(test.p),
                             number(comparison.overallQ)].joined(separator: ","))
            }
            for bin in comparison.bins {
                rows.append(["comparison_bin", "", field(comparison.name), field("\(comparison.variantA)-\(comparison.variantB)"),
                             String(format: "%.0f", bin.timeMilliseconds), comparison.measure, "", number(bin.difference),
                             number(bin.low), number(bin.high), number(bin.p), number(bin.q)].joined(separator: ","))
            }
        }
        if let segments {
            for row in segments.rows {
                let values = Self.measures(row.expressions, row.valence, nil, row.engagement)
                for (measure, estimate) in values {
                    guard let estimate else { continue }
                    rows.append(["segment", field(row.stimulusId), field(row.stimulus), field("\(segments.attribute)=\(row.value)"), "",
                                 measure, String(estimate.n), number(estimate.mean), number(estimate.low), number(estimate.high),
                                 "", ""].joined(separator: ","))
                }
            }
        }
        for moment in moments {
            rows.append(["moment", field(moment.stimulusId), field(moment.stimulus), "", String(format: "%.0f", moment.peakMs),
                         moment.expression.rawValue, "", number(moment.peak), number(moment.baseline), "",
                         "", ""].joined(separator: ","))
        }
        return rows.joined(separator: "\n") + "\n"
    }

    /// The landmark stage's audience measures, for studies that measure faces.
    static func faceMeasures(attention: Estimate?, measures: [String: Estimate], blinkRate: Estimate?) -> [(String, Estimate?)] {
        [("attention", attention)] + MeasureSummary.Name.allCases.map { ($0.rawValue, measures[$0.rawValue]) }
            + [("blink_rate", blinkRate)]
    }

    static func measures(_ expressions: [Estimate?], _ valence: Estimate?, _ arousal: Estimate?,
                         _ engagement: Estimate?) -> [(String, Estimate?)] {
        zip(Emotion.allCases.map(\.rawValue), expressions).map { ($0, $1) }
            + [("valence", valence), ("arousal", arousal), ("engagement", engagement)]
    }
}
