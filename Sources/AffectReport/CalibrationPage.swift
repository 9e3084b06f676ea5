import AffectCore
import Foundation

/// `affect eval --report`: the reliability diagram of a labelled evaluation, before and after the
/// model's temperature scaling, drawn by the same chart as the reports, with the figures in a table.
public struct CalibrationPage {
    public var title: String
    public var subtitle: String
    public var raw: ClassificationReport
    /// Nil when evaluated without calibration (`--uncalibrated`).
    public var calibrated: ClassificationReport?
    public var temperature: Double?

    public init(title: String, subtitle: String, raw: ClassificationReport, calibrated: ClassificationReport?,
                temperature: Double?) {
        self.title = title
        self.subtitle = subtitle
        self.raw = raw
        self.calibrated = calibrated
        self.temperature = temperature
    }

    private struct ChartData: Encodable {
        struct Series: Encodable {
            var name: String
            var colour: String
            var dash: Bool
            var points: [[Double]]
        }
        var series: [Series]
    }

    public func html() throws -> String {
        func points(_ report: ClassificationReport) -> [[Double]] { report.reliability.map { [$0.confidence, $0.accuracy] } }
        var series = [ChartData.Series(name: "perfect", colour: "#999999", dash: true, points: [[0, 0], [1, 1]]),
                      .init(name: "uncalibrated", colour: "#D55E00", dash: false, points: points(raw))]
        if let calibrated { series.append(.init(name: "calibrated", colour: "#0072B2", dash: false, points: points(calibrated))) }
        let data = String(decoding: try AffectJSON.encoder(pretty: false).encode(ChartData(series: series)), as: UTF8.self)
            .replacingOccurrences(of: "</", with: "<\\/")
        var rows = ["<tr><th></th><th>ECE</th><th>accuracy</th><th>macro-F1</th></tr>",
                    row("uncalibrated", raw)]
        if let calibrated {
            rows.append(row("calibrated" + (temperature.map { String(format: " (temperature %.3f)", $0) } ?? ""), calibrated))
        }
        var bins = ["<tr><th>mean confidence</th><th>accuracy</th><th>images</th>"
            + (calibrated == nil ? "" : "<th>mean confidence, calibrated</th><th>accuracy</th><th>images</th>") + "</tr>"]
        for index in 0..<max(raw.reliability.count, calibrated?.reliability.count ?? 0) {
            func cells(_ bins: [ClassificationReport.ReliabilityBin]) -> String {
                guard index < bins.count else { return "<td></td><td></td><td></td>" }
                return String(format: "<td>%.3f</td><td>%.3f</td><td>%d</td>", bins[index].confidence, bins[index].accuracy,
                              bins[index].count)
            }
            bins.append("<tr>" + cells(raw.reliability) + (calibrated.map { cells($0.reliability) } ?? "") + "</tr>")
        }
        return HTMLText.page(title: title, body: """
        <p class="muted">\(HTMLText.escape(subtitle))</p>
        <p class="notice">A calibrated model's top probability matches how often it is right: of the faces it scores 0.7,
        about 70% carry that label. Points below the diagonal are over-confident. ECE is the mean gap, weighted by images,
        over 15 confidence bins.</p>
        <table id="figures">\(rows.joined())</table>
        <svg class="chart" id="reliability"></svg>
        <h2>Bins</h2>
        <table id="bins">\(bins.joined())</table>
        """, scripts: """
        <script>\(ReportAssets.timelineChartScript)</script>
        <script type="application/json" id="chart-data">\(data)</script>
        <script>
        (function () {
          const data = JSON.parse(document.getElementById("chart-data").textContent);
          AffectChart.drawTimeline(document.getElementById("reliability"), data.series,
            { title: "Reliability diagram", yLabel: "accuracy", xLabel: "top-class confidence", xFloor: 1,
              xFormat: (v) => v.toFixed(1), height: 360 });
          document.body.dataset.rendered = "true";
        })();
        </script>
        """)
    }

    private func row(_ label: String, _ report: ClassificationReport) -> String {
        String(format: "<tr><td>%@</td><td data-value=\"%.6f\">%.4f</td><td>%.4f</td><td>%.4f</td></tr>",
               HTMLText.escape(label), report.ece, report.ece, report.accuracy, report.macroF1)
    }
}
