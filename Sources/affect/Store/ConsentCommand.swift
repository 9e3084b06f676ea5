import AffectCore
import AffectStore
import ArgumentParser
import Foundation

struct ConsentCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "consent",
        abstract: "Record or withdraw a participant's consent.",
        subcommands: [Record.self, Withdraw.self]
    )

    struct Record: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Record consent, enrolling a new pseudonymous participant unless --participant names one.",
            discussion: """
            The consent covers the study's current transparency notice (its SHA-256 is kept) and \
            expression analysis. Prints the participant and consent as JSON; pass the participant id \
            to `affect analyze --participant`.
            """
        )
        @Option(help: "Study id or name.") var study: String
        @Option(help: "An existing participant id (p_...) to renew consent for.") var participant: String?
        @Option(help: "Expressions this participant does not want measured, e.g. sad,fear.") var exclude: EmotionListArgument?
        @Option(help: "The notice text actually shown, if not the generated one (`affect study notice`).") var noticeFile: String?
        @Option(help: ArgumentHelp("Self-reported attributes the participant agreed to give, e.g. age=25-34,region=EU.",
                                   discussion: "Records consent to the segment-attributes purpose as well."))
        var segment: SegmentArgument?
        @OptionGroup var database: DatabaseOptions

        struct Recorded: Encodable {
            var participant: Participant
            var consent: Consent
        }

        func run() async throws {
            try await CommandFailure.reportingAsync {
                let store = try await database.open()
                let definition = try await store.study(study).definition
                let notice: String
                if let noticeFile {
                    guard let text = try? String(contentsOfFile: noticeFile, encoding: .utf8) else {
                        throw UsageError(message: "\(noticeFile): cannot read the notice file")
                    }
                    notice = text
                } else {
                    notice = TransparencyNotice.text(for: definition)
                }
                let (participant, consent) = try await store.recordConsent(
                    .init(study: study, participant: participant, noticeText: notice,
                          purposes: [Consent.analysisPurpose] + (segment == nil ? [] : [Consent.segmentPurpose]),
                          excludedEmotions: exclude?.emotions ?? [], segment: segment?.attributes),
                    actor: DatabaseOptions.actor)
                try JSONOutput.print(Recorded(participant: participant, consent: consent))
            }
        }
    }

    struct Withdraw: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Withdraw consent: stops processing and deletes the participant's results.",
            discussion: "A running `affect analyze` for this participant stops at its next analysed frame.")
        @Argument(help: "Participant id (p_...).") var participant: String
        @OptionGroup var database: DatabaseOptions

        func run() async throws {
            try await CommandFailure.reportingAsync {
                let store = try await database.open()
                let withdrawal = try await store.withdrawConsent(participant: participant, actor: DatabaseOptions.actor)
                try JSONOutput.print(withdrawal)
            }
        }
    }
}

struct SubjectCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "subject",
        abstract: "Data subject rights: export or delete everything held about a participant.",
        subcommands: [Export.self, Delete.self]
    )

    struct Export: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Export everything held about a participant as JSON (audited).")
        @Argument(help: "Participant id (p_...).") var participant: String
        @Option(name: .shortAndLong, help: "Write to this file instead of stdout.") var output: String?
        @Flag(help: "Replace --output if it exists.") var overwrite = false
        @OptionGroup var database: DatabaseOptions

        func run() async throws {
            try await CommandFailure.reportingAsync {
                let store = try await database.open()
                let export = try await store.exportSubject(participant: participant, actor: DatabaseOptions.actor)
                let file = try OutputFile(path: output, overwrite: overwrite)
                try file.writeLine(try JSONOutput.text(export))
                try file.close()
            }
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Delete everything held about a participant, consent records included (audited).")
        @Argument(help: "Participant id (p_...).") var participant: String
        @OptionGroup var database: DatabaseOptions

        func run() async throws {
            try await CommandFailure.reportingAsync {
                let store = try await database.open()
                try JSONOutput.print(try await store.deleteSubject(participant: participant, actor: DatabaseOptions.actor))
            }
        }
    }
}

struct PurgeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "purge",
        abstract: "Delete every session past its study's retention period (audited).",
        discussion: """
        Run it daily (cron or a systemd timer). Deleted rows are overwritten in the database file \
        (SQLite secure_delete) and the file is vacuumed. --as-of purges as if it were that date \
        (ISO 8601), to apply a retention period early.
        """
    )
    @Option(help: "Purge as of this date or time (ISO 8601, e.g. 2027-01-31 or 2027-01-31T12:00:00Z).") var asOf: String?
    @OptionGroup var database: DatabaseOptions

    func run() async throws {
        try await CommandFailure.reportingAsync {
            var asOfMilliseconds: Int64?
            if let asOf {
                let full = ISO8601DateFormatter()
                let dateOnly = ISO8601DateFormatter()
                dateOnly.formatOptions = [.withFullDate]
                guard let date = full.date(from: asOf) ?? dateOnly.date(from: asOf) else {
                    throw UsageError(message: "--as-of '\(asOf)' is not an ISO 8601 date")
                }
                asOfMilliseconds = Int64(date.timeIntervalSince1970 * 1000)
            }
            let store = try await database.open()
            try JSONOutput.print(try await store.purge(asOf: asOfMilliseconds, actor: DatabaseOptions.actor))
        }
    }
}

struct AuditCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract: "Inspect and verify the hash-chained audit log.",
        subcommands: [Verify.self, List.self]
    )

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check every event's hash and link; name the first event that fails.",
            discussion: """
            Exit 0 when intact, 65 when broken. The chain alone cannot show that events were cut \
            from its end; keep the head hash this prints somewhere else (a ticket, an e-mail) and \
            pass it later with --includes: verification then also fails if that event is gone.
            """)
        @Option(help: "A head hash printed earlier: the chain must still contain that event.") var includes: String?
        @OptionGroup var database: DatabaseOptions

        func run() async throws {
            try await CommandFailure.reportingAsync {
                let store = try await database.open()
                switch try await store.verifyAudit() {
                case .intact(let events, let head):
                    if let includes, try await !store.auditEvents().contains(where: { $0.hash == includes.lowercased() }) {
                        Console.error("audit chain has no event with hash \(includes.prefix(12))…: events were removed from its end")
                        throw ExitCode(65)
                    }
                    print("audit chain intact: \(events) events, head \(head)")
                case .broken(let sequence, let reason):
                    Console.error("audit chain broken at event \(sequence): \(reason)")
                    throw ExitCode(65)
                }
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print audit events as JSON lines.")
        @OptionGroup var database: DatabaseOptions

        func run() async throws {
            try await CommandFailure.reportingAsync {
                let store = try await database.open()
                for event in try await store.auditEvents() { try JSONOutput.printLine(event) }
            }
        }
    }
}
