extension String {
    /// Lends the string's UTF-8 bytes to `body`: in place when the string holds them
    /// contiguously (every string hush makes does), through a copy otherwise. `withUTF8` is
    /// `mutating`, so calling it on a `let` took a copy of the string: for a string kept on the
    /// heap, a retain and a release on every call.
    @inlinable @inline(__always)
    public func withUTF8Bytes<R>(_ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
        if let result = utf8.withContiguousStorageIfAvailable(body) { return result }
        var copy = self
        return copy.withUTF8(body)
    }
}
