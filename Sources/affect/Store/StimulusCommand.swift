import AffectServer
import AffectStore
import ArgumentParser

struct StimulusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stimulus",
        abstract: "Register what participants watch, in variants to compare.",
        subcommands: [Add.self, List.self]
    )

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add a stimulus variant to a study; prints it as JSON.",
            discussion: """
            A stimulus is either a web address the participant's browser plays (--source) or a video \
            file copied into the server's data directory (--file, MP4 or WebM), which `affect serve` \
            then sends to the participants of links made for it. A path on the server is never \
            recorded. Variants of one stimulus share its --name:
              affect stimulus add --study Trailer --name Cut --variant A --file cut-a.mp4
              affect stimulus add --study Trailer --name Cut --variant B --source https://cdn.example/b.mp4
            """
        )
        @Option(help: "Study id or name.") var study: String
        @Option(help: "The stimulus name; variants share it.") var name: String
        @Option(help: "Variant label.") var variant: String = "A"
        @Option(help: "A web address (http:// or https://) the participant's browser plays.") var source: String?
        @Option(help: "A video file (MP4 or WebM) to copy into the data directory's stimuli folder.") var file: String?
        @Option(help: "Data directory `affect serve --data` uses (default affect-data); with --file.") var data: String?
        @Option(help: "The stimuli folder `affect serve --stimuli-dir` uses, if it was given one; with --file.")
        var stimuliDir: String?
        @OptionGroup var database: DatabaseOptions

        func validate() throws {
            if (source == nil) == (file == nil) { throw ValidationError("give exactly one of --source URL and --file PATH") }
        }

        func run() async throws {
            try await CommandFailure.reportingAsync {
                let store = try await database.open()
                let library = stimuliDir.map { StimulusLibrary(directory: $0) } ?? StimulusLibrary.inDataDirectory(data)
                let stimulusSource: StimulusSource
                var digest: String?
                if let source {
                    stimulusSource = try StimulusSource(webAddress: source)
                } else {
                    do {
                        stimulusSource = try library.importFile(at: file ?? "")
                        digest = try library.digest(of: stimulusSource)
                    } catch let refusal as StimulusLibrary.Refusal {
                        throw UsageError(message: "\(file ?? ""): \(refusal)")
                    }
                }
                do {
                    try JSONOutput.print(try await store.addStimulus(study: study, name: name, variant: variant,
                                                                     source: stimulusSource, sha256: digest,
                                                                     actor: DatabaseOptions.actor))
                } catch {
                    library.remove(stimulusSource)
                    throw error
                }
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List a study's stimuli as JSON lines.")
        @Option(help: "Study id or name.") var study: String
        @OptionGroup var database: DatabaseOptions

        func run() async throws {
            try await CommandFailure.reportingAsync {
                let store = try await database.open()
                for stimulus in try await store.stimuli(study: study) { try JSONOutput.printLine(stimulus) }
            }
        }
    }
}

/// Parses `age=25-34,region=EU` into segment attributes.
struct SegmentArgument: ExpressibleByArgument {
    var attributes: [String: String]

    init?(argument: String) {
        var attributes: [String: String] = [:]
        for pair in argument.split(separator: ",") {
            let parts = pair.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.count == 2, !parts[0].isEmpty else { return nil }
            attributes[parts[0]] = parts[1]
        }
        self.attributes = attributes
    }
}
