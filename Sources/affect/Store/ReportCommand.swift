import AffectReport
import AffectStore
import ArgumentParser
import Foundation

/// `affect report STUDY`: the audience report of a study.
struct ReportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Write a study's audience report: HTML, CSV or JSON.",
        discussion: """
        Per stimulus and variant: the audience's mean expression probabilities, valence, arousal and \
        engagement over stimulus time, each with a 95% interval over participants; variants compared \
        (Welch's t on per-participant means, per-bin differences with Benjamini-Hochberg control); \
        audience moments for human review; method, model provenance and limitations. Bins with fewer \
        than the study's k participants are withheld.

        The HTML file is self-contained (open it anywhere, print it); the CSV and JSON hold every \
        number it shows.

          affect report Trailer --output trailer.html
          affect report Trailer --format csv --output trailer.csv
        """
    )

    enum Format: String, ExpressibleByArgument, CaseIterable { case html, csv, json }

    @Argument(help: "The study, by id or name.") var study: String
    @Option(help: "html, csv or json (default: from --output's extension, else json).") var format: Format?
    @Option(name: .shortAndLong, help: "Where to write (default: stdout).") var output: String?
    @Flag(help: "Replace --output if it exists.") var overwrite = false
    @Option(help: "Bin width on the stimulus clock, in milliseconds.") var binMs: Double = 500
    @Option(help: ArgumentHelp("Compare participants by this self-reported attribute (e.g. age); cells under k are withheld.",
                               valueName: "attribute"))
    var segmentBy: String?
    @Option(help: ArgumentHelp("Release the segment comparison with Laplace noise of this total ε, spent from the study's privacy budget (required when the study has one).",
                               valueName: "ε"))
    var epsilon: Double?
    @OptionGroup var database: DatabaseOptions

    func validate() throws {
        guard binMs >= 100, binMs <= 600_000 else { throw ValidationError("--bin-ms must be 100 to 600000") }
        if let epsilon, !(epsilon > 0 && epsilon <= 10) { throw ValidationError("--epsilon must be above 0 and at most 10") }
        if epsilon != nil && segmentBy == nil { throw ValidationError("--epsilon applies to --segment-by") }
    }

    var chosenFormat: Format {
        if let format { return format }
        switch output.map({ ($0 as NSString).pathExtension.lowercased() }) {
        case "html", "htm": return .html
        case "csv": return .csv
        default: return .json
        }
    }

    func run() async throws {
        try await CommandFailure.reportingAsync {
            let store = try await database.open()
            // The output file is opened first: a release that spends privacy budget must not be lost to a bad path.
            let file = try OutputFile(path: output, overwrite: overwrite)
            // A command is an act, not a read: it queues the moments it finds, and with --epsilon makes a release.
            _ = try await StudyReport.queueMoments(store: store, study: study, binMilliseconds: binMs)
            var release: StudyReport.SegmentRelease?
            if let epsilon, let segmentBy {
                release = try await StudyReport.releaseSegments(store: store, study: study, segmentBy: segmentBy, epsilon: epsilon,
                                                                idempotencyKey: nil, actor: DatabaseOptions.actor)
            }
            var report = try await StudyReport.build(store: store, study: study, binMilliseconds: binMs,
                                                     segmentBy: release == nil ? segmentBy : nil)
            if let release { report.segments = release.table }
            let text: String = switch chosenFormat {
            case .html: try report.html()
            case .csv: report.csv()
            case .json: try report.json()
            }
            try file.writeLine(text.hasSuffix("\n") ? String(text.dropLast()) : text)
            try file.close()
            if let output { Console.info("affect: wrote the \(chosenFormat.rawValue) report of \(report.study.name) to \(output)") }
            if let release {
                if let spent = release.release?.epsilon {
                    Console.info(String(format: "affect: this release spent ε = %g; %g of the study's privacy budget is left",
                                        spent, release.budget.remaining))
                } else {
                    Console.info("affect: nothing released and no ε spent: every cell has fewer participants than the study's k")
                }
            }
        }
    }
}
