import Foundation
import HushCore

/// Reads the members of one JSON object by name, each check naming its field (with `prefix`
/// for nested objects: `requests[3].channel`). `finish()` refuses any member that no one read:
/// a typo must not be silently ignored.
struct FieldReader {
    private let members: [(key: String, value: JSONValue)]
    let prefix: String
    /// Which members were asked for, by position (a body has a handful; no hashing): the
    /// first 64 as bits, any past them in an array, made only for such an object (a batch reads
    /// a hundred objects, and an array for each was an allocation).
    private var readBits: UInt64 = 0
    private var readPast64: [Bool]

    init(_ value: JSONValue, prefix: String = "", what: String = "the body") throws(ValidationError) {
        guard case .object(let members) = value else {
            throw ValidationError(field: prefix.isEmpty ? "" : String(prefix.dropLast()), message: "\(what) must be a JSON object, not \(value.typeName)")
        }
        self.members = members
        self.prefix = prefix
        readPast64 = members.count > 64 ? Array(repeating: false, count: members.count - 64) : []
    }

    private mutating func markRead(_ index: Int) {
        if index < 64 { readBits |= 1 << UInt64(index) } else { readPast64[index - 64] = true }
    }

    private func wasRead(_ index: Int) -> Bool {
        index < 64 ? readBits & (1 << UInt64(index)) != 0 : readPast64[index - 64]
    }

    func path(_ name: String) -> String { prefix + name }

    func fail(_ name: String, _ message: String) -> ValidationError { ValidationError(field: path(name), message: message) }

    /// The member's value; nil when absent. A JSON null counts as absent too.
    mutating func raw(_ name: String) -> JSONValue? {
        guard let index = members.firstIndex(where: { $0.key == name }) else { return nil }
        markRead(index)
        let value = members[index].value
        if case .null = value { return nil }
        return value
    }

    func has(_ name: String) -> Bool { members.contains { $0.key == name } }

    mutating func string(_ name: String) throws(ValidationError) -> String? {
        guard let value = raw(name) else { return nil }
        guard case .string(let text) = value else { throw fail(name, "must be a string, not \(value.typeName)") }
        return text
    }

    mutating func requiredString(_ name: String) throws(ValidationError) -> String {
        guard let text = try string(name) else { throw fail(name, "is required") }
        return text
    }

    mutating func bool(_ name: String) throws(ValidationError) -> Bool? {
        guard let value = raw(name) else { return nil }
        guard case .bool(let flag) = value else { throw fail(name, "must be true or false, not \(value.typeName)") }
        return flag
    }

    mutating func integer(_ name: String, in range: ClosedRange<Int64>) throws(ValidationError) -> Int64? {
        guard let value = raw(name) else { return nil }
        let number: Int64
        switch value {
        case .integer(let whole): number = whole
        // JSON Schema's integer is a number with no fraction, written as it may be: 3.0 and
        // 3e2 are whole numbers too (within a double's exact range).
        case .number(let double) where double.rounded(.towardZero) == double && abs(double) <= 9_007_199_254_740_992:
            number = Int64(double)
        case .number(let double): throw fail(name, "must be a whole number, not \(double)")
        default: throw fail(name, "must be a whole number, not \(value.typeName)")
        }
        guard range.contains(number) else { throw fail(name, "must be between \(range.lowerBound) and \(range.upperBound)") }
        return number
    }

    /// A list of strings; present but empty is refused when `nonEmpty` (an empty scope would
    /// cover nothing, which is never what was meant).
    mutating func strings(_ name: String, nonEmpty: Bool = true, maxCount: Int = 1000) throws(ValidationError) -> [String]? {
        guard let value = raw(name) else { return nil }
        guard case .array(let elements) = value else { throw fail(name, "must be a list of strings, not \(value.typeName)") }
        if nonEmpty, elements.isEmpty { throw fail(name, "must not be empty (omit it to mean all)") }
        if elements.count > maxCount { throw fail(name, "must hold at most \(maxCount) values") }
        var out: [String] = []
        out.reserveCapacity(elements.count)
        for (i, element) in elements.enumerated() {
            guard case .string(let text) = element else {
                throw ValidationError(field: "\(path(name))[\(i)]", message: "must be a string, not \(element.typeName)")
            }
            out.append(text)
        }
        return out
    }

    mutating func time(_ name: String) throws(ValidationError) -> Date? {
        guard let text = try string(name) else { return nil }
        return try Validate.time(text, field: path(name))
    }

    /// Refuses members no one asked for.
    func finish() throws(ValidationError) {
        for (index, member) in members.enumerated() where !wasRead(index) {
            throw fail(member.key, "is not a known field")
        }
    }
}
