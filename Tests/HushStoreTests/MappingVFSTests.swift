import CSQLite
import Foundation
import Testing
@testable import HushStore

/// `CHushVFS`: a database file is mapped whole, up to `PRAGMA mmap_size` with no cap of SQLite's
/// own, and what the connections read through the mapping stays right while the file grows and
/// shrinks under them.
@Suite struct MappingVFSTests {
    func fileSize(_ path: String) throws -> Int64 {
        Int64(try FileManager.default.attributesOfItem(atPath: path)[.size] as! UInt64)
    }

    /// Rows, their bytes and a checksum of their contents, read by `database`.
    func scan(_ database: Database) throws -> [Int64] {
        var result: [Int64] = []
        try database.prepare("SELECT count(*), sum(length(v)), sum(unicode(substr(v, 1 + id % 500, 1)) * id) FROM t").query([]) { row in
            result = (0..<3).map { row.integer(Int32($0)) ?? -1 }
        }
        return result
    }

    /// A writer that fills table t with `rows` rows of `bytes` bytes, in one transaction, and
    /// moves them into the main file.
    func fill(_ writer: Database, from first: Int, rows: Int, bytes: Int) throws {
        try writer.exec("CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)")
        try writer.exec("BEGIN")
        let insert = try writer.prepare("INSERT INTO t (id, v) VALUES (?, ?)")
        for id in first..<(first + rows) {
            let letter = Character(UnicodeScalar(UInt8(97 + id % 26)))
            _ = try insert.run([.integer(Int64(id)), .text(String(repeating: letter, count: bytes))])
        }
        try writer.exec("COMMIT")
        try writer.exec("PRAGMA wal_checkpoint(TRUNCATE)")
    }

    /// What the same rows give when computed here.
    func expected(_ ids: some Sequence<Int>, bytes: Int) -> [Int64] {
        var count: Int64 = 0, sum: Int64 = 0, check: Int64 = 0
        for id in ids {
            count += 1
            sum += Int64(bytes)
            check += Int64(97 + id % 26) * Int64(id)
        }
        return [count, sum, check]
    }

    @Test func theWholeFileIsMapped_TheLimitIsTheConnectionsOwn_NotSQLitesCap() throws {
        let path = try makeStorePath()
        let writer = try Database(path: path, mode: .readWrite)
        try fill(writer, from: 0, rows: 3_000, bytes: 900)
        let reader = try Database(path: path, mode: .readOnly)
        #expect(try scan(reader) == expected(0..<3_000, bytes: 900))
        #expect(reader.mappedBytes == (try fileSize(path)))
        // The limit asked is kept as asked (1 TiB); SQLite's own VFS answers its compile-time cap
        // when that is lower (2 GiB in Debian's libsqlite3).
        var limit: Int64 = -1
        try reader.prepare("PRAGMA mmap_size").query([]) { limit = $0.integer(0) ?? -1 }
        #expect(limit == Database.mmapBytes)
    }

    @Test func aReaderFollowsTheFileAsItGrowsPastTheMapping_Shrinks_AndGrowsBack() throws {
        let path = try makeStorePath()
        let writer = try Database(path: path, mode: .readWrite)
        try fill(writer, from: 0, rows: 1_000, bytes: 1_000)
        let reader = try Database(path: path, mode: .readOnly)
        #expect(try scan(reader) == expected(0..<1_000, bytes: 1_000))
        let small = try fileSize(path)
        #expect(reader.mappedBytes == small)

        // Past the first 64 MiB step of the mapping: the reader remaps and reads every new row.
        try fill(writer, from: 1_000, rows: 72_000, bytes: 1_000)
        let large = try fileSize(path)
        #expect(large > 64 << 20)
        #expect(try scan(reader) == expected(0..<73_000, bytes: 1_000))
        #expect(reader.mappedBytes == large)

        // Most rows deleted and the file vacuumed to a fraction: the reader maps no byte past
        // the new end (a page read there would be SIGBUS) and reads the rows that are left.
        try writer.exec("DELETE FROM t WHERE id >= 2000")
        try writer.exec("VACUUM")
        try writer.exec("PRAGMA wal_checkpoint(TRUNCATE)")
        let shrunk = try fileSize(path)
        #expect(shrunk < large / 10)
        #expect(try scan(reader) == expected(0..<2_000, bytes: 1_000))
        #expect((reader.mappedBytes ?? .max) <= shrunk)

        // Grown back past its old size, through the mapping that was kept: the new pages, not
        // the old ones, are read.
        try fill(writer, from: 2_000, rows: 75_000, bytes: 1_000)
        #expect(try fileSize(path) > large)
        #expect(try scan(reader) == expected(0..<77_000, bytes: 1_000))
        #expect(reader.mappedBytes == (try fileSize(path)))
    }

    /// The pager asks for every page a write transaction adds (it looks in the mapping before
    /// its cache); the file is measured once for them, not once a page. After this connection's
    /// own checkpoint grows the file, its next read maps the new end.
    @Test func pagesAWriteAddsAreNotMeasuredForOneByOne_AndOwnCheckpointIsFollowed() throws {
        let path = try makeStorePath()
        let writer = try Database(path: path, mode: .readWrite)
        try fill(writer, from: 0, rows: 1_000, bytes: 1_000)
        #expect(try scan(writer) == expected(0..<1_000, bytes: 1_000))
        let before = try #require(writer.fileMeasures)

        try writer.exec("BEGIN")
        let insert = try writer.prepare("INSERT INTO t (id, v) VALUES (?, ?)")
        let lookup = try writer.prepare("SELECT length(v) FROM t WHERE id = ?")
        var found = 0
        for id in 1_000..<4_000 {
            let letter = Character(UnicodeScalar(UInt8(97 + id % 26)))
            _ = try insert.run([.integer(Int64(id)), .text(String(repeating: letter, count: 1_000))])
            // A read cursor on the page just added, past the end of the file.
            try lookup.query([.integer(Int64(id))]) { row in if row.integer(0) == 1_000 { found += 1 } }
        }
        try writer.exec("COMMIT")
        #expect(found == 3_000)
        let during = try #require(writer.fileMeasures) - before
        #expect(during <= 2, "the file was measured \(during) times for 3,000 pages added")

        // The checkpoint writes the pages into the file through this connection: its next read
        // measures again and maps them.
        let mappedBefore = try #require(writer.mappedBytes)
        try writer.exec("PRAGMA wal_checkpoint(TRUNCATE)")
        #expect(try scan(writer) == expected(0..<4_000, bytes: 1_000))
        #expect(writer.mappedBytes == (try fileSize(path)))
        #expect(try #require(writer.mappedBytes) > mappedBefore)
    }

    @Test func aSmallerLimitMapsNoMore_AndPagesPastItAreStillRead() throws {
        let path = try makeStorePath()
        let writer = try Database(path: path, mode: .readWrite)
        try fill(writer, from: 0, rows: 2_000, bytes: 1_000)
        let reader = try Database(path: path, mode: .readOnly)
        try reader.exec("PRAGMA mmap_size=65536")
        #expect(try scan(reader) == expected(0..<2_000, bytes: 1_000))
        #expect(reader.mappedBytes == 65_536)
        try reader.exec("PRAGMA mmap_size=0")
        #expect(try scan(reader) == expected(0..<2_000, bytes: 1_000))
        #expect((reader.mappedBytes ?? 0) == 0)
    }

    @Test func anImportStageIsNotMapped() throws {
        let path = try makeStorePath()
        let stage = try Database(path: path + ".stage", mode: .scratch)
        try fill(stage, from: 0, rows: 10, bytes: 10)
        #expect(stage.mappedBytes == nil)
        let store = try Database(path: path, mode: .readWrite)
        try fill(store, from: 0, rows: 10, bytes: 10)
        #expect(store.mappedBytes != nil)
    }
}
