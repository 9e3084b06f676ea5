import AffectCore
import Foundation

/// `affect bias --report`: the audit as a page, every figure with its interval and ratio.
public struct BiasPage {
    public var title: String
    public var audit: BiasAudit

    public init(title: String, audit: BiasAudit) {
        self.title = title
        self.audit = audit
    }

    public func html() -> String {
        func cell(_ interval: Bootstrap.Interval?) -> String {
            guard let interval else { return "<td>-</td>" }
            return String(format: "<td data-value=\"%.6f\">%.3f <span class=\"muted\">[%.3f, %.3f]</span></td>",
                          interval.value, interval.value, interval.low, interval.high)
        }
        func ratio(_ value: Double?, failing: Bool) -> String {
            guard let value else { return "<td>-</td>" }
            return String(format: "<td data-value=\"%.6f\"%@>%.2f</td>", value, failing ? " class=\"fail\"" : "", value)
        }
        var rows = ["<tr><th>group</th><th>images</th><th>no face</th><th>accuracy [95%]</th><th>ratio</th>"
            + "<th>macro-F1 [95%]</th><th>ratio</th><th>ECE [95%]</th><th>ECE − lowest</th></tr>"]
        for group in audit.groups {
            rows.append("<tr data-group=\"\(HTMLText.escape(group.group))\"><td>\(HTMLText.escape(group.group))</td>"
                + "<td>\(group.n)</td><td>\(group.noFace)</td>" + cell(group.accuracy)
                + ratio(group.accuracyRatio, failing: (group.accuracyRatio ?? 1) < audit.minimumRatio) + cell(group.macroF1)
                + ratio(group.macroF1Ratio, failing: (group.macroF1Ratio ?? 1) < audit.minimumRatio) + cell(group.ece)
                + String(format: "<td>%+.3f</td>", group.eceDifference ?? 0) + "</tr>")
        }
        var recall = ["<tr><th>group</th>" + Emotion.allCases.map { "<th>\($0.rawValue)</th>" }.joined() + "</tr>"]
        for group in audit.groups {
            recall.append("<tr><td>\(HTMLText.escape(group.group))</td>" + Emotion.allCases.map { emotion in
                guard let interval = group.recall[emotion.rawValue] else { return "<td>-</td>" }
                return String(format: "<td>%.2f <span class=\"muted\">[%.2f, %.2f] ×%.2f</span></td>", interval.value, interval.low,
                              interval.high, group.recallRatio[emotion.rawValue] ?? 0)
            }.joined() + "</tr>")
        }
        let verdict = audit.passed
            ? "<p class=\"statement\" id=\"verdict\" data-passed=\"true\">Passed: every group's accuracy and macro-F1 is at least "
                + String(format: "%.2f", audit.minimumRatio) + " of the best group's.</p>"
            : "<p class=\"statement fail\" id=\"verdict\" data-passed=\"false\">Failed: "
                + audit.failures.map(HTMLText.escape).joined(separator: "; ") + ".</p>"
        return HTMLText.page(title: title, style: ".fail{color:#b00020;font-weight:600}", body: """
        <p class="muted">Intervals: 95% percentile bootstrap, \(audit.resamples) resamples, seed \(audit.seed). Ratios: the group's
        value over the best group's; the audit fails under \(String(format: "%.2f", audit.minimumRatio)).</p>
        \(verdict)
        <table id="groups">\(rows.joined())</table>
        <h2>Recall per expression</h2>
        <p class="muted">Reported, not decisive: a small group's per-class figures rest on few images.</p>
        <table id="recall">\(recall.joined())</table>
        """)
    }
}
