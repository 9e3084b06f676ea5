extension Dictionary where Key == String, Value == Int {
    /// Counts by name for a person to read, in name order: "stale 3, superseded 12".
    var countsText: String {
        sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
    }
}
