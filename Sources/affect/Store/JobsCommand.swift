import AffectStore
import ArgumentParser
import Foundation

struct JobsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "jobs",
        abstract: "Queue recorded videos for analysis by `affect worker` processes, and follow them.",
        discussion: """
        Each video becomes a job: one session of the study for the consenting participant, analysed by \
        whichever worker claims it first (on this machine or another, on one PostgreSQL database). A worker \
        that dies leaves its job to be taken over once its lease runs out; the job's session is resumed, \
        and every job is done once.
          affect jobs submit panel-01.mp4 panel-02.mp4 --study Trailer --participant p_0123456789abcdef
          affect worker &                      # as many as you like, anywhere the files are readable
          affect jobs list --study Trailer
        """,
        subcommands: [Submit.self, List.self]
    )

    struct Submit: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Queue videos (files the workers can read, or stream URLs); prints the jobs as JSON lines.")
        @Argument(help: "Videos: paths as the workers see them, or URLs.") var videos: [String]
        @Option(help: "Study id or name.") var study: String
        @Option(help: "The consenting participant (p_...) the videos show.") var participant: String
        @OptionGroup var database: DatabaseOptions

        func validate() throws {
            if videos.isEmpty { throw ValidationError("give at least one video") }
        }

        func run() async throws {
            try await CommandFailure.reportingAsync {
                let store = try await database.open()
                // Files are queued by their absolute path: workers may run in another directory.
                let sources = videos.map { video in
                    video.contains("://") ? video : URL(fileURLWithPath: video).standardizedFileURL.path
                }
                for job in try await store.submitJobs(study: study, participant: participant, sources: sources,
                                                      actor: DatabaseOptions.actor) {
                    try JSONOutput.printLine(job)
                }
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Jobs, newest first, as JSON lines; counts by status on stderr.")
        @Option(help: "Only this study's (id or name).") var study: String?
        @OptionGroup var database: DatabaseOptions

        func run() async throws {
            try await CommandFailure.reportingAsync {
                let store = try await database.open()
                let jobs = try await store.jobs(study: study)
                for job in jobs { try JSONOutput.printLine(job) }
                let counts = Dictionary(grouping: jobs, by: \.status).mapValues(\.count)
                Console.info("affect: " + ["queued", "running", "done", "failed"].map { "\(counts[$0] ?? 0) \($0)" }.joined(separator: ", "))
            }
        }
    }
}
