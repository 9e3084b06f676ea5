import AffectCore
import AffectReport
import AffectVision
import ArgumentParser
import Foundation

struct Bias: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Audit the expression model for differences between groups of labelled images.",
        discussion: """
        DIR holds one folder per expression, as for `affect eval`. GROUPS.csv gives each image a \\
        group, with a header row: path,group. A path is relative to DIR (happy/img001.jpg) or \\
        absolute; images without a group are left out and counted.

        For each group: accuracy, macro-F1, per-class recall and ECE, each with a 95% bootstrap \\
        interval (--resamples, fixed --seed so the figures can be reproduced), and its ratio to \\
        the best group (ECE: its difference from the lowest). A group whose accuracy or macro-F1 \\
        ratio falls under --min-ratio fails the audit: the failures are listed and the exit code \\
        is 1. Per-class recall ratios are reported but do not decide (small groups have few images \\
        per class; read their intervals).

        Groups are whatever the lab records with consent (age band, skin tone scale, camera, \\
        lighting). Affect never infers them from faces.

        Example: affect bias faces/ --groups groups.csv --min-ratio 0.8 --report bias.html
        """
    )

    @Argument(help: "Directory with one sub-folder of images per expression class.")
    var directory: String

    @Option(help: ArgumentHelp("CSV with a header row and the columns path and group.", valueName: "GROUPS.csv"))
    var groups: String

    @Option(help: "Fail when a group's accuracy or macro-F1 is under this share of the best group's (0 to 1).")
    var minRatio: Double = 0.8

    @Option(help: "Bootstrap resamples per interval (0 to 100000).")
    var resamples = 1000

    @Option(help: "Seed of the bootstrap's random numbers.")
    var seed: UInt64 = 1

    @OptionGroup
    var scoring: LabelledSetOptions

    @Option(help: "Output format: json or text.")
    var format: TextOrJSON = .json

    @Option(help: ArgumentHelp("Also write the audit as an HTML page.", valueName: "FILE.html"))
    var report: String?

    @Flag(help: "Replace a --report file that already exists.")
    var overwrite = false

    func validate() throws {
        guard (0...1).contains(minRatio) else { throw ValidationError("--min-ratio must be between 0 and 1") }
        guard (0...100_000).contains(resamples) else { throw ValidationError("--resamples must be 0 to 100000") }
    }

    func run() throws {
        let audit: BiasAudit = try CommandFailure.reporting {
            let folders = try Eval.classFolders(in: directory)
            let table = try CSVTable(path: groups)
            let pathColumn = try table.column("path", path: groups, example: "path,group")
            let groupColumn = try table.column("group", path: groups, example: "path,group")
            let root = URL(fileURLWithPath: directory).standardizedFileURL.path
            // Group paths are relative to DIR; image paths (found under DIR) relative to the working directory.
            func key(_ path: String) -> String {
                let absolute = path.hasPrefix("/") ? path : (root as NSString).appendingPathComponent(path)
                return URL(fileURLWithPath: absolute).standardizedFileURL.path
            }
            func fileKey(_ path: String) -> String { URL(fileURLWithPath: path).standardizedFileURL.path }
            var groupOf: [String: String] = [:]
            for row in table.rows {
                let group = row.fields[groupColumn].trimmingCharacters(in: .whitespaces)
                guard !group.isEmpty, group.count <= 200 else {
                    throw VisionError.inputUnreadable(path: groups, reason: "line \(row.line): a group is 1 to 200 characters")
                }
                groupOf[key(row.fields[pathColumn].trimmingCharacters(in: .whitespaces))] = group
            }
            let all = folders.flatMap { folder in Eval.imageFiles(in: folder.path).map { (label: folder.label, path: $0) } }
            let files = all.filter { groupOf[fileKey($0.path)] != nil }
            guard !files.isEmpty else {
                throw VisionError.inputUnreadable(path: groups, reason: "no image under \(directory) has a group (paths are relative to DIR)")
            }
            if files.count < all.count { Console.info("\(all.count - files.count) images without a group left out") }
            let unmatched = groupOf.count - files.count
            if unmatched > 0 { Console.info("\(unmatched) paths in \(groups) are not images under \(directory)") }
            let scorer = try scoring.scorer()
            let reportFile = try report.map { try OutputFile(path: $0, overwrite: overwrite) }
            let scored = try scorer.score(files, progressLabel: "bias")
            let samples: [BiasAudit.Sample] = scored.samples.map { sample in
                (groupOf[fileKey(files[sample.index].path)] ?? "", sample.label, sample.prediction)
            }
            if scored.unreadable > 0 { Console.info("\(scored.unreadable) unreadable images skipped") }
            let audit = BiasAudit(samples: samples, minimumRatio: minRatio, resamples: resamples, seed: seed)
            switch format {
            case .json: try JSONOutput.print(audit)
            case .text: print(Self.describe(audit))
            }
            if let reportFile {
                try reportFile.writeLine(BiasPage(title: "Bias audit of \((directory as NSString).lastPathComponent)",
                                                  audit: audit).html())
                try reportFile.close()
            }
            return audit
        }
        for failure in audit.failures { Console.error(failure) }
        if !audit.passed { throw ExitCode(1) }
    }

    static func describe(_ audit: BiasAudit) -> String {
        func cell(_ interval: Bootstrap.Interval?) -> String {
            interval.map { String(format: "%.3f [%.3f, %.3f]", $0.value, $0.low, $0.high) } ?? "-"
        }
        var lines = ["group                            n      accuracy               ratio  macro-F1               ratio  ECE"]
        for group in audit.groups {
            let name = group.group.padding(toLength: 30, withPad: " ", startingAt: 0)
            lines.append("\(name) \(String(format: "%5d", group.n))  \(cell(group.accuracy))  "
                + String(format: "%.2f", group.accuracyRatio ?? 0) + "   \(cell(group.macroF1))  "
                + String(format: "%.2f", group.macroF1Ratio ?? 0) + "   \(cell(group.ece))")
        }
        lines.append(audit.passed ? "passed: every ratio is at least \(audit.minimumRatio)" : "failed: " + audit.failures.joined(separator: "; "))
        return lines.joined(separator: "\n")
    }
}
