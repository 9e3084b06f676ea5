/// A value passed to or read from SQL, in the four types both backends share.
///
/// There is deliberately no blob: nothing Affect stores is binary, so a frame or an
/// image cannot be written even by mistake (the zero-retention tests check this too).
public enum SQLValue: Sendable, Hashable {
    case null
    case integer(Int64)
    case real(Double)
    case text(String)

    public var int: Int? {
        switch self {
        case .integer(let value): Int(value)
        case .real(let value): Int(exactly: value)
        default: nil
        }
    }

    public var int64: Int64? {
        if case .integer(let value) = self { return value }
        return nil
    }

    public var double: Double? {
        switch self {
        case .real(let value): value
        case .integer(let value): Double(value)
        default: nil
        }
    }

    public var string: String? {
        if case .text(let value) = self { return value }
        return nil
    }

    public var isNull: Bool { self == .null }
}

/// Conversions for bindings, so statements read naturally: `[.text(id), 3, nil]`.
extension SQLValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByNilLiteral {
    public init(stringLiteral value: String) { self = .text(value) }
    public init(integerLiteral value: Int64) { self = .integer(value) }
    public init(nilLiteral: ()) { self = .null }

    public init(_ value: String?) { self = value.map { .text($0) } ?? .null }
    public init(_ value: Int?) { self = value.map { .integer(Int64($0)) } ?? .null }
    public init(_ value: Int64?) { self = value.map { .integer($0) } ?? .null }
    public init(_ value: Double?) { self = value.map { .real($0) } ?? .null }
}

/// One result row, by column name (lowercase, as both backends return unquoted names).
public struct SQLRow: Sendable {
    public var values: [String: SQLValue]

    public init(values: [String: SQLValue]) {
        self.values = values
    }

    public subscript(column: String) -> SQLValue {
        values[column] ?? .null
    }

    func text(_ column: String) throws -> String {
        guard let value = self[column].string else { throw StoreError.corruptRow(column: column) }
        return value
    }

    func integer(_ column: String) throws -> Int64 {
        guard let value = self[column].int64 else { throw StoreError.corruptRow(column: column) }
        return value
    }

    func real(_ column: String) throws -> Double {
        guard let value = self[column].double else { throw StoreError.corruptRow(column: column) }
        return value
    }
}

extension [SQLValue] {
    /// Refuses text with a NUL character before it reaches a statement: PostgreSQL cannot store one
    /// (and answers with an encoding error), so both backends refuse it the same way, as the caller's mistake.
    func checkStorable() throws(StoreError) {
        for case .text(let text) in self where text.utf8.contains(0) {
            throw .invalidInput("text must not contain NUL characters")
        }
    }
}
