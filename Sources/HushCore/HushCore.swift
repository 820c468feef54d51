/// HushCore: the domain of hush (facts, policy and `decide()`), pure Swift with no I/O.
/// The decision engine's types are added to this module; this enum is only its namespace.
public enum HushCore {}
