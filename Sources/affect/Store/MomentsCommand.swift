import AffectStore
import ArgumentParser

/// `affect moments`: the review queue of audience moments.
struct MomentsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "moments",
        abstract: "Review audience moments: list them, confirm or dismiss.",
        discussion: """
        `affect report` finds audience-level peaks of an expression and queues each as pending. A person \
        looks at the stimulus at that time and confirms the moment or dismisses it; nothing in Affect \
        acts on a moment by itself. Reports show each moment's review.
          affect moments list --study Trailer
          affect moments confirm am_0123456789abcdef --note "laugh at the pun"
        """,
        subcommands: [List.self, Confirm.self, Dismiss.self]
    )

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List a study's audience moments as JSON lines.")
        @Option(help: "Study id or name.") var study: String
        @Option(help: "Only moments in this state: pending, confirmed or dismissed.") var status: String?
        @OptionGroup var database: DatabaseOptions

        func validate() throws {
            if let status, PrivacyStore.AudienceMomentReview.Status(rawValue: status) == nil {
                throw ValidationError("--status is pending, confirmed or dismissed")
            }
        }

        func run() async throws {
            try await CommandFailure.reportingAsync {
                let store = try await database.open()
                for moment in try await store.audienceMoments(study: study) where status == nil || moment.status.rawValue == status {
                    try JSONOutput.printLine(moment)
                }
            }
        }
    }

    struct Confirm: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Confirm a moment after looking at the stimulus; prints it.")
        @Argument(help: "The moment (am_...).") var moment: String
        @Option(help: "What the reviewer saw.") var note: String?
        @OptionGroup var database: DatabaseOptions

        func run() async throws {
            try await MomentsCommand.review(moment, .confirmed, note: note, database: database)
        }
    }

    struct Dismiss: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Dismiss a moment (noise, a detection glitch...); prints it.")
        @Argument(help: "The moment (am_...).") var moment: String
        @Option(help: "Why.") var note: String?
        @OptionGroup var database: DatabaseOptions

        func run() async throws {
            try await MomentsCommand.review(moment, .dismissed, note: note, database: database)
        }
    }

    static func review(_ id: String, _ decision: PrivacyStore.AudienceMomentReview.Status, note: String?,
                       database: DatabaseOptions) async throws {
        try await CommandFailure.reportingAsync {
            let store = try await database.open()
            try JSONOutput.print(try await store.reviewAudienceMoment(id, decision: decision, note: note, actor: DatabaseOptions.actor))
        }
    }
}
