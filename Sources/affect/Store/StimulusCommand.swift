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
            Only where the media is (a path or URL) is recorded, never the media. Variants of one
            stimulus share its --name:
              affect stimulus add --study Trailer --name "Cut" --variant A --source cut-a.mp4
              affect stimulus add --study Trailer --name "Cut" --variant B --source cut-b.mp4
            """
        )
        @Option(help: "Study id or name.") var study: String
        @Option(help: "The stimulus name; variants share it.") var name: String
        @Option(help: "Variant label.") var variant: String = "A"
        @Option(help: "Where the media is: a file path or URL.") var source: String
        @OptionGroup var database: DatabaseOptions

        func run() async throws {
            try await CommandFailure.reportingAsync {
                let store = try await database.open()
                try JSONOutput.print(try await store.addStimulus(study: study, name: name, variant: variant, source: source,
                                                                 actor: DatabaseOptions.actor))
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
