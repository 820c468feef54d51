/// Splitting and decoding of a request-target (RFC 9112 §3.2, RFC 3986).
public enum RequestTarget {
    /// The path and query of an absolute-form target (`http://host/p?q` → `/p?q`), or nil
    /// when `target` is not an http or https URI.
    static func absolutePath(of target: String) -> Substring? {
        let lower = target.prefix(8).lowercased()
        let schemeLength: Int
        if lower.hasPrefix("http://") { schemeLength = 7 } else if lower.hasPrefix("https://") { schemeLength = 8 } else { return nil }
        let rest = target.dropFirst(schemeLength)
        guard let authorityEnd = rest.firstIndex(where: { $0 == "/" || $0 == "?" }) else {
            return rest.isEmpty ? nil : "/"
        }
        guard authorityEnd > rest.startIndex else { return nil }
        // RFC 9112 §3.2.1: an empty path in an absolute URI means "/".
        return rest[authorityEnd] == "?" ? Substring("/" + rest[authorityEnd...]) : rest[authorityEnd...]
    }

    /// The raw path (still percent-encoded) and raw query (without `?`) of a target.
    public static func split(_ target: String) -> (path: Substring, query: Substring?) {
        let origin: Substring
        if target.utf8.first == UInt8(ascii: "/") || target == "*" {
            origin = target[...]
        } else {
            origin = absolutePath(of: target) ?? target[...]
        }
        // The byte offset of "?", found on the contiguous bytes (a String's are) rather than by
        // walking the UTF-8 view's indices.
        let offset = origin.utf8.withContiguousStorageIfAvailable { bytes in
            bytes.firstIndex(of: UInt8(ascii: "?")) ?? -1
        } ?? (origin.utf8.firstIndex(of: UInt8(ascii: "?")).map { origin.utf8.distance(from: origin.startIndex, to: $0) } ?? -1)
        guard offset >= 0 else { return (origin, nil) }
        let q = origin.utf8.index(origin.startIndex, offsetBy: offset)
        return (origin[..<q], origin[origin.utf8.index(after: q)...])
    }

    /// Decodes `%XX` escapes (and `+` as a space when `plusAsSpace`), or nil when an escape is
    /// malformed or the result is not UTF-8.
    public static func percentDecode<S: StringProtocol>(_ text: S, plusAsSpace: Bool) -> String? {
        let utf8 = text.utf8
        if !utf8.contains(UInt8(ascii: "%")) && !(plusAsSpace && utf8.contains(UInt8(ascii: "+"))) {
            return String(text)
        }
        var out: [UInt8] = []
        out.reserveCapacity(utf8.count)
        var i = utf8.startIndex
        while i != utf8.endIndex {
            let b = utf8[i]
            if b == UInt8(ascii: "%") {
                let h = utf8.index(after: i)
                guard h != utf8.endIndex, let hi = hexValue(utf8[h]) else { return nil }
                let l = utf8.index(after: h)
                guard l != utf8.endIndex, let lo = hexValue(utf8[l]) else { return nil }
                out.append(hi << 4 | lo)
                i = utf8.index(after: l)
                continue
            }
            out.append(plusAsSpace && b == UInt8(ascii: "+") ? UInt8(ascii: " ") : b)
            i = utf8.index(after: i)
        }
        return String(validating: out, as: UTF8.self)
    }

    private static func hexValue(_ b: UInt8) -> UInt8? {
        switch b {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): b - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): b - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): b - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
