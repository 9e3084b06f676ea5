import Foundation

/// Files the report embeds and the server serves: one chart implementation for both.
public enum ReportAssets {
    /// `timeline-chart.js`: the SVG timeline chart the dashboard draws live and reports embed.
    public static let timelineChartScript: String = {
        guard let url = Bundle.module.url(forResource: "Resources/timeline-chart", withExtension: "js")
            ?? Bundle.module.url(forResource: "timeline-chart", withExtension: "js"),
              let text = try? String(contentsOf: url, encoding: .utf8) else { return "" }
        return text
    }()
}
