/// How well the model agrees with a person coding the same frames: Cohen's kappa over the seven
/// expressions and, per expression, how often the two agree on it.
///
/// Kappa corrects the share of frames where both chose the same expression for the share that would
/// match by chance given how often each uses each expression; 1 is perfect agreement, 0 chance.
public struct CoderAgreement: Sendable, Codable, Hashable {
    public struct ClassAgreement: Sendable, Codable, Hashable {
        /// Frames the person coded with this expression, and frames the model put it first.
        public var coder: Int
        public var model: Int
        /// Frames where both chose it.
        public var both: Int
        /// Specific (positive) agreement: 2 × both / (coder + model); nil when neither chose it.
        public var agreement: Double?
        /// Of the person's frames with this expression, the share where the model chose it too.
        public var modelRecall: Double?

        enum CodingKeys: String, CodingKey {
            case coder, model, both, agreement
            case modelRecall = "model_recall"
        }
    }

    /// Frames compared.
    public var n: Int
    /// Share of frames where both chose the same expression.
    public var observed: Double
    /// Share expected by chance from each one's own frequencies.
    public var expected: Double
    public var kappa: Double?
    /// Large-sample standard error of kappa (Cohen, 1960) and the 95% interval from it.
    public var kappaStandardError: Double?
    public var kappaLow: Double?
    public var kappaHigh: Double?
    public var perClass: [String: ClassAgreement]
    /// `confusion[person's code][model's expression]`.
    public var confusion: [String: [String: Int]]

    enum CodingKeys: String, CodingKey {
        case n, observed, expected, kappa, confusion
        case kappaStandardError = "kappa_standard_error"
        case kappaLow = "kappa_low"
        case kappaHigh = "kappa_high"
        case perClass = "per_class"
    }

    /// Compares pairs of (person's code, model's expression).
    public init(pairs: [(coder: Emotion, model: Emotion)]) {
        n = pairs.count
        var table = Array(repeating: Array(repeating: 0, count: 7), count: 7)
        for pair in pairs { table[pair.coder.index][pair.model.index] += 1 }
        let total = Double(max(n, 1))
        let rows = table.map { $0.reduce(0, +) }
        let columns = (0..<7).map { column in table.reduce(0) { $0 + $1[column] } }
        let diagonal = (0..<7).reduce(0) { $0 + table[$1][$1] }
        observed = n > 0 ? Double(diagonal) / total : 0
        expected = n > 0 ? (0..<7).reduce(0.0) { $0 + Double(rows[$1]) * Double(columns[$1]) } / (total * total) : 0
        if n > 0, expected < 1 {
            let value = (observed - expected) / (1 - expected)
            let error = (observed * (1 - observed) / (total * (1 - expected) * (1 - expected))).squareRoot()
            kappa = value
            kappaStandardError = error
            kappaLow = value - 1.96 * error
            kappaHigh = value + 1.96 * error
        }
        var classes: [String: ClassAgreement] = [:]
        var confusion: [String: [String: Int]] = [:]
        for emotion in Emotion.allCases {
            let i = emotion.index
            let both = table[i][i]
            let sum = rows[i] + columns[i]
            classes[emotion.rawValue] = ClassAgreement(
                coder: rows[i], model: columns[i], both: both, agreement: sum > 0 ? 2 * Double(both) / Double(sum) : nil,
                modelRecall: rows[i] > 0 ? Double(both) / Double(rows[i]) : nil)
            var row: [String: Int] = [:]
            for other in Emotion.allCases { row[other.rawValue] = table[i][other.index] }
            confusion[emotion.rawValue] = row
        }
        perClass = classes
        self.confusion = confusion
    }
}
