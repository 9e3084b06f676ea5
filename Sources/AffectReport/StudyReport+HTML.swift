import AffectCore
import Foundation

extension StudyReport {
    /// One self-contained HTML file: tables written here, charts drawn in the page by the same
    /// `timeline-chart.js` the dashboard uses, from the report's own JSON embedded in the file.
    /// Every number shown is in that JSON (and the CSV); the tables carry `data-value` attributes
    /// so a test can hold them to it.
    public func html() throws -> String {
        let data = try json().replacingOccurrences(of: "</", with: "<\\/")
        var body: [String] = []
        body.append("""
        <header><h1>\(escape(study.name))</h1>
        <p>\(escape(study.purpose))</p>
        <p class="muted">Study \(escape(study.id)) · mode \(study.mode.rawValue) · k = \(study.k) · notice version \
        \(escape(study.noticeVersion)) · generated \(escape(generatedAt)) · bins of \(Int(binMs)) ms</p>
        <p class="notice">These are probabilistic estimates of facial expressions, not measurements of what anyone felt.
        They must not be used to make decisions about individuals.</p></header>
        """)
        body.append(summaryTable())
        for (index, stimulus) in stimuli.enumerated() {
            let audience = stimulus.participants.map { $0 == 1 ? "1 participant" : "\($0) participants" }
                ?? "fewer than \(study.k) participants: withheld"
            let title = escape([stimulus.name, stimulus.variant.map { "variant \($0)" }].compactMap { $0 }.joined(separator: ", "))
            body.append("""
            <section class="stimulus" data-stimulus="\(escape(stimulus.stimulusId ?? ""))">
            <h2>\(title)</h2>
            <p class="muted">\(audience) · \
            \(stimulus.bins.count) bins shown · <span class="suppressed" data-value="\(stimulus.suppressedBins)">\
            \(stimulus.suppressedBins)</span> bins withheld (fewer than \(study.k) participants)</p>
            <svg class="chart" id="expressions-\(index)"></svg>
            <div class="multiples" id="multiples-\(index)"></div>
            <svg class="chart" id="valence-\(index)"></svg>
            <svg class="chart" id="engagement-\(index)"></svg>
            <svg class="chart" id="eyes-\(index)"></svg>
            <svg class="chart" id="pose-\(index)"></svg>
            </section>
            """)
        }
        body.append(comparisonSection())
        body.append(momentsSection())
        if let segments { body.append(segmentSection(segments)) }
        body.append("<section id=\"method\"><h2>Method</h2><ul>" + method.map { "<li>\(escape($0))</li>" }.joined() + "</ul></section>")
        body.append(provenanceSection())
        body.append("<section id=\"limitations\"><h2>Limitations</h2><ul>"
            + limitations.map { "<li>\(escape($0))</li>" }.joined() + "</ul></section>")
        return """
        <!doctype html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>Affect report: \(escape(study.name))</title>
        <style>\(Self.style)</style>
        </head>
        <body>
        <main>
        \(body.joined(separator: "\n"))
        </main>
        <script>\(ReportAssets.timelineChartScript)</script>
        <script type="application/json" id="report-data">\(data)</script>
        <script>\(Self.renderScript)</script>
        </body>
        </html>

        """
    }

    private func cell(_ estimate: Estimate?, digits: Int = 3) -> String {
        guard let estimate else { return "<td>–</td>" }
        let interval = estimate.low.flatMap { low in estimate.high.map { String(format: " [%.\(digits)f, %.\(digits)f]", low, $0) } } ?? ""
        return String(format: "<td data-value=\"%.6f\">%.\(digits)f%@</td>", estimate.mean, estimate.mean, interval)
    }

    /// Whether any stimulus has the landmark stage's measures (the study measures faces).
    private var measured: Bool {
        stimuli.contains { $0.overall?.attention != nil || $0.bins.contains { $0.attention != nil } }
    }

    private func summaryTable() -> String {
        var rows = ""
        for stimulus in stimuli {
            let overall = stimulus.overall
            let top = overall.flatMap { overall in
                Emotion.allCases.filter { $0 != .neutral }.max { (overall.expressions[$0.index]?.mean ?? -1) < (overall.expressions[$1.index]?.mean ?? -1) }
            }
            rows += "<tr data-stimulus=\"\(escape(stimulus.stimulusId ?? ""))\"><td>\(escape(stimulus.name))</td>"
                + "<td>\(escape(stimulus.variant ?? "–"))</td><td>\(stimulus.participants.map(String.init) ?? "&lt; k")</td>"
                + cell(overall?.valence) + cell(overall?.arousal) + cell(overall?.attention ?? overall?.engagement)
                + "<td>\(top.map { escape($0.rawValue) } ?? "–")</td></tr>"
        }
        return """
        <section id="summary"><h2>Summary</h2>
        <table><thead><tr><th>stimulus</th><th>variant</th><th>participants</th><th>valence [95% CI]</th>
        <th>arousal [95% CI]</th><th>\(measured ? "attention" : "engagement") [95% CI]</th><th>strongest expression (not neutral)</th></tr></thead>
        <tbody>\(rows)</tbody></table></section>
        """
    }

    private func comparisonSection() -> String {
        guard !comparisons.isEmpty else {
            return "<section id=\"comparisons\"><h2>A/B comparison</h2><p>No stimulus has two variants.</p></section>"
        }
        var html = "<section id=\"comparisons\"><h2>A/B comparison</h2>"
        for (index, comparison) in comparisons.enumerated() {
            html += "<div class=\"comparison\" data-name=\"\(escape(comparison.name))\"><h3>\(escape(comparison.name)): "
                + "\(escape(comparison.variantA)) vs \(escape(comparison.variantB))</h3>"
                + "<p class=\"statement\">\(escape(comparison.statement))</p>"
            if let test = comparison.overall {
                html += String(format: """
                    <table class="test"><tr><th>difference in mean valence</th><td data-value="%.6f">%.3f</td></tr>
                    <tr><th>95%% interval</th><td>%.3f to %.3f</td></tr>
                    <tr><th>Welch's t, df</th><td>%.2f, %.1f</td></tr>
                    <tr><th>p</th><td data-value="%.6f">%.3f</td></tr>%@
                    <tr><th>Hedges' g</th><td>%@</td></tr>
                    <tr><th>bins differing (FDR 5%%)</th><td data-value="%d">%d of %d</td></tr></table>
                    """, test.difference, test.difference, test.differenceLow, test.differenceHigh, test.t, test.degreesOfFreedom,
                    test.p, test.p, comparison.overallQ.map {
                        String(format: "\n<tr><th>p adjusted across pairs</th><td data-value=\"%.6f\">%.3f</td></tr>", $0, $0)
                    } ?? "", test.hedgesG.map { String(format: "%.2f", $0) } ?? "n/a",
                    comparison.significantBins, comparison.significantBins, comparison.bins.count)
                html += "<svg class=\"chart\" id=\"comparison-\(index)\"></svg>"
            }
            html += "</div>"
        }
        return html + "</section>"
    }

    private func momentsSection() -> String {
        guard !moments.isEmpty else {
            return "<section id=\"moments\"><h2>Audience moments</h2><p>No expression rose \(Self.momentRise) above its usual level.</p></section>"
        }
        let rows = moments.map { moment in
            String(format: "<tr><td>%@</td><td>%@</td><td>%@</td><td data-value=\"%.0f\">%@</td><td>%.1f s</td>"
                + "<td data-value=\"%.6f\">%.3f</td><td>%.3f</td><td>%.0f%%</td><td>%@</td></tr>",
                   escape(moment.stimulus), moment.expression.rawValue, Self.clock(moment.onsetMs), moment.peakMs,
                   Self.clock(moment.peakMs), moment.durationMs / 1000, moment.peak, moment.peak, moment.baseline,
                   moment.shareOfAudience * 100, escape(moment.review))
        }.joined()
        return """
        <section id="moments"><h2>Audience moments (for human review)</h2>
        <table><thead><tr><th>stimulus</th><th>expression</th><th>onset</th><th>peak</th><th>duration</th><th>peak mean</th>
        <th>usual level</th><th>share of audience</th><th>review</th></tr></thead><tbody>\(rows)</tbody></table></section>
        """
    }

    private func segmentSection(_ table: SegmentTable) -> String {
        let privacy = table.epsilon.map { epsilon in
            String(format: "Released with differential privacy: Laplace noise of total ε = %g (split evenly over the numbers "
                + "shown; the noise scale of each is given), so no intervals are shown. %@", epsilon,
                table.budgetRemaining.map { String(format: "%g of the study's privacy budget is left.", $0) } ?? "")
        } ?? "Means over participants with 95% intervals."
        let rows = table.rows.map { row in
            let scale = row.noiseScale.flatMap { $0["valence"] }.map { String(format: "±%.3f", $0) } ?? "–"
            return "<tr><td>\(escape(row.stimulus))</td><td>\(escape(row.value))</td><td>\(row.n)</td>"
                + cell(row.valence) + cell(row.engagement) + cell(row.expressions[Emotion.happy.index])
                + "<td>\(scale)</td></tr>"
        }.joined()
        return """
        <section id="segments"><h2>Segments by \(escape(table.attribute))</h2>
        <p class="muted">Self-reported attributes, given with consent. \(escape(privacy)) \
        <span data-value="\(table.suppressedCells)">\(table.suppressedCells)</span> cells with fewer than \(study.k) participants withheld.</p>
        <table><thead><tr><th>stimulus</th><th>\(escape(table.attribute))</th><th>participants</th><th>valence</th><th>engagement</th>
        <th>happy</th><th>noise scale (valence)</th></tr></thead><tbody>\(rows)</tbody></table></section>
        """
    }

    private func provenanceSection() -> String {
        let rows = provenance.map { entry in
            "<tr><td><code>\(escape(String(entry.id.prefix(16))))</code></td><td>\(entry.sessions)</td><td>"
                + entry.models.sorted { $0.key < $1.key }.map { "\(escape($0.key)) <code>\(escape(String($0.value.prefix(12))))</code>" }
                .joined(separator: "<br>")
                + "</td><td>" + entry.configuration.sorted { $0.key < $1.key }.map { "\(escape($0.key)) = \(escape($0.value))" }
                .joined(separator: "<br>") + "</td></tr>"
        }.joined()
        return """
        <section id="provenance"><h2>Model provenance</h2><p>Every score traces to the models (SHA-256) and settings below.</p>
        <table><thead><tr><th>provenance</th><th>sessions</th><th>models</th><th>settings</th></tr></thead>
        <tbody>\(rows)</tbody></table></section>
        """
    }

    static func clock(_ milliseconds: Double) -> String {
        let seconds = milliseconds / 1000
        return seconds < 60 ? String(format: "%.1f s", seconds) : String(format: "%d:%04.1f", Int(seconds) / 60, seconds.truncatingRemainder(dividingBy: 60))
    }

    private func escape(_ text: String) -> String { HTMLText.escape(text) }

    static let style = """
    body{font-family:system-ui,sans-serif;color:#1b1b1b;margin:0;background:#fff}main{max-width:1000px;margin:0 auto;padding:1rem 1.5rem}
    h1{font-size:1.5rem}h2{font-size:1.2rem;border-bottom:1px solid #ddd;padding-bottom:.2rem;margin-top:2rem}
    .muted{color:#555;font-size:.9rem}.notice{background:#f3f5f8;padding:.6rem;border-radius:4px}
    table{border-collapse:collapse;font-size:.85rem;margin:.5rem 0}th,td{text-align:left;padding:.25rem .5rem;border-bottom:1px solid #e6e6e6;vertical-align:top}
    svg.chart{width:100%;height:auto;display:block;margin:.4rem 0}.multiples{display:grid;grid-template-columns:1fr 1fr;gap:.3rem}.timeline-chart .grid{stroke:#e6e6e6}.timeline-chart .axis{stroke:#555}
    .timeline-chart .tick,.timeline-chart .legend-label,.timeline-chart .axis-label{font-size:11px;fill:#333}
    .timeline-chart .chart-title{font-size:13px;font-weight:600}.timeline-chart .empty{font-size:13px;fill:#888}
    .statement{font-weight:500}code{font-size:.8rem}
    @media print{svg.chart{break-inside:avoid}}
    """

    /// Draws the charts from the embedded JSON with AffectChart.
    static let renderScript = """
    (function () {
      const report = JSON.parse(document.getElementById("report-data").textContent);
      const chart = AffectChart;
      report.stimuli.forEach((stimulus, index) => {
        const bins = stimulus.bins;
        if (!bins.length) {
          // A withheld section has nothing to draw: its text says why.
          document.querySelectorAll(`#expressions-${index}, #valence-${index}, #engagement-${index}, #eyes-${index}, #pose-${index}`)
            .forEach((svg) => svg.remove());
          return;
        }
        const series = chart.expressionSeries(bins, true);
        // All seven at a glance, then one small chart each with its interval band.
        AffectChart.drawTimeline(document.getElementById("expressions-" + index), series.map((s) => ({ name: s.name, points: s.points })),
          { title: "Expression probabilities, mean over participants", yLabel: "probability" });
        const multiples = document.getElementById("multiples-" + index);
        for (const s of series) {
          const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
          svg.setAttribute("class", "chart small");
          multiples.appendChild(svg);
          AffectChart.drawTimeline(svg, [s], { title: s.name + " (band: 95% interval)", yLabel: "probability", width: 480, height: 170 });
        }
        AffectChart.drawTimeline(document.getElementById("valence-" + index), chart.valenceSeries(bins, true),
          { title: "Valence (unpleasant −1 to pleasant +1)", yMin: -1, yMax: 1, yLabel: "valence", height: 200 });
        const measured = bins.some((b) => b.attention);
        if (measured) {
          // Faces were measured: engagement is the attention curve (facing the screen with open eyes).
          AffectChart.drawTimeline(document.getElementById("engagement-" + index),
            [Object.assign(chart.seriesOf("attention", bins, (b) => b.attention, true), { colour: "#1f3a5f" })],
            { title: "Attention (share of frames facing the screen with open eyes; band: 95% interval)", yLabel: "share", height: 180 });
          const m = (name) => (b) => (b.measures || {})[name];
          AffectChart.drawTimeline(document.getElementById("eyes-" + index),
            [Object.assign(chart.seriesOf("eyes open", bins, m("eyes_open"), true), { colour: "#0072B2" }),
             Object.assign(chart.seriesOf("mouth open", bins, m("mouth_open"), false), { colour: "#D55E00" })],
            { title: "Eyes and mouth open (0 closed to 1 open)", yLabel: "openness", height: 180 });
          AffectChart.drawTimeline(document.getElementById("pose-" + index),
            [Object.assign(chart.seriesOf("head yaw", bins, m("head_yaw"), false), { colour: "#009E73" }),
             Object.assign(chart.seriesOf("head pitch", bins, m("head_pitch"), false), { colour: "#CC79A7" }),
             Object.assign(chart.seriesOf("gaze yaw", bins, m("gaze_yaw"), false), { colour: "#009E73", dash: true }),
             Object.assign(chart.seriesOf("gaze pitch", bins, m("gaze_pitch"), false), { colour: "#CC79A7", dash: true })],
            { title: "Head and gaze direction (degrees; 0 is straight at the camera)", yMin: -45, yMax: 45, yLabel: "degrees", height: 200 });
        } else {
          AffectChart.drawTimeline(document.getElementById("engagement-" + index),
            [Object.assign(chart.seriesOf("engagement", bins, (b) => b.engagement, true), { colour: "#1f3a5f" })],
            { title: "Engagement (share of frames with a face looking roughly at the camera)", yLabel: "share", height: 180 });
          document.querySelectorAll(`#eyes-${index}, #pose-${index}`).forEach((svg) => svg.remove());
        }
      });
      report.comparisons.forEach((comparison, index) => {
        const svg = document.getElementById("comparison-" + index);
        if (!svg) return;
        const pick = (variant) => report.stimuli.find((s) => s.name === comparison.name && s.variant === variant);
        const a = pick(comparison.variant_a), b = pick(comparison.variant_b);
        const series = [];
        if (a) series.push(Object.assign(chart.seriesOf("valence " + comparison.variant_a, a.bins, (x) => x.valence, true), { colour: "#0072B2" }));
        if (b) series.push(Object.assign(chart.seriesOf("valence " + comparison.variant_b, b.bins, (x) => x.valence, true),
          { colour: "#D55E00", dash: true }));
        AffectChart.drawTimeline(svg, series, { title: "Valence by variant (bands: 95% interval)", yMin: -1, yMax: 1, yLabel: "valence", height: 220 });
      });
      document.body.dataset.rendered = "true";
    })();
    """
}
