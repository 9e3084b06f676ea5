/// This Affect's version: what `affect --version` prints and what every session's provenance records.
public enum AffectVersion {
    public static let current = "0.1.0"
}
