import CSQLite
import Foundation
import Testing
@testable import HushStore

private func temporaryDirectory() throws -> URL {
    let url = URL(fileURLWithPath: storeTestsDirectory).appendingPathComponent(UUID().uuidString)
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

@Test func prepare_CreatesTheFileInWALMode() throws {
    let path = try temporaryDirectory().appendingPathComponent("hush.db").path
    try DatabaseFile.prepare(path: path)
    #expect(FileManager.default.fileExists(atPath: path))
    var db: OpaquePointer?
    #expect(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, nil) == SQLITE_OK)
    defer { sqlite3_close_v2(db) }
    var statement: OpaquePointer?
    #expect(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &statement, nil) == SQLITE_OK)
    defer { sqlite3_finalize(statement) }
    #expect(sqlite3_step(statement) == SQLITE_ROW)
    #expect(String(cString: sqlite3_column_text(statement, 0)) == "wal")
}

@Test func prepare_IsIdempotent() throws {
    let path = try temporaryDirectory().appendingPathComponent("hush.db").path
    try DatabaseFile.prepare(path: path)
    try DatabaseFile.prepare(path: path)
}

@Test func prepare_RefusesAMissingDirectory_NamingThePath() {
    #expect { try DatabaseFile.prepare(path: "/nonexistent-\(UUID().uuidString)/hush.db") } throws: { error in
        "\(error)".contains("cannot open database /nonexistent-")
    }
}

@Test func prepare_RefusesAFileThatIsNotADatabase() throws {
    let path = try temporaryDirectory().appendingPathComponent("junk.db").path
    try Data(repeating: 0x41, count: 4096).write(to: URL(fileURLWithPath: path))
    #expect { try DatabaseFile.prepare(path: path) } throws: { error in
        "\(error)".contains("junk.db")
    }
}

@Test func linkedSQLite_ReportsItsVersion() {
    #expect(SQLiteLibrary.version.split(separator: ".").count == 3)
}

@Test func textParameters_BindAsTheirExactBytes_AndTheEmptyStringIsNotNull() throws {
    let db = try Database(path: try makeStorePath(), mode: .readWrite)
    try db.exec("CREATE TABLE t (v TEXT)")
    let insert = try db.prepare("INSERT INTO t (v) VALUES (?1)")
    let values = ["", "c-1", "a customer id longer than fifteen bytes", "zoë@example.com", "日本"]
    for value in values { try insert.run([.text(value)]) }
    var read: [String?] = []
    try db.prepare("SELECT v, typeof(v), length(CAST(v AS BLOB)) FROM t ORDER BY rowid").query([]) { row in
        #expect(row.text(1) == "text")
        read.append(row.text(0))
        #expect(row.integer(2) == Int64(row.text(0)?.utf8.count ?? -1))
    }
    #expect(read == values)
}

@Test func textParameters_KeepTheirBytes_WhenALaterUseOutgrowsTheBuffer_AndOnesNotGivenAreNull() throws {
    let db = try Database(path: try makeStorePath(), mode: .readWrite)
    try db.exec("CREATE TABLE t (a TEXT, b TEXT, c TEXT)")
    let insert = try db.prepare("INSERT INTO t (a, b, c) VALUES (?1, ?2, ?3)")
    // A select holds its parameters while it steps: each row it hands over was matched against
    // the bytes bound for this use, not the last one's.
    let long = String(repeating: "x", count: 5_000), longer = String(repeating: "y", count: 70_000)
    let rows: [[String]] = [["a", "b", "c"], [long, "", longer], ["d", "e", "f"], [longer, long, "g"]]
    for row in rows { try insert.run(row.map { .text($0) }) }
    try insert.run([.text("only a")])
    var read: [[String?]] = []
    try db.prepare("SELECT a, b, c FROM t ORDER BY rowid").query([]) { row in read.append([row.text(0), row.text(1), row.text(2)]) }
    #expect(read == rows.map { $0.map(Optional.some) } + [["only a", nil, nil]])
    let select = try db.prepare("SELECT count(*) FROM t WHERE a = ?1 AND b = ?2")
    for (a, b, count) in [(long, "", 1), ("a", "b", 1), (longer, long, 1), ("a", "", 0)] as [(String, String, Int64)] {
        var found: Int64 = -1
        try select.query([.text(a), .text(b)]) { found = $0.integer(0) ?? -1 }
        #expect(found == count)
    }
}

@Test func migrate_BringsANewFileToTheLatestVersion_AndRefusesOneFromANewerHush() throws {
    let path = try temporaryDirectory().appendingPathComponent("hush.db").path
    let first = try DatabaseFile.migrate(path: path)
    #expect(first.before == 0 && first.after == DatabaseFile.schemaVersion)
    let second = try DatabaseFile.migrate(path: path)
    #expect(second.before == DatabaseFile.schemaVersion && second.after == DatabaseFile.schemaVersion)
    try Database(path: path, mode: .readWrite).exec("PRAGMA user_version = \(DatabaseFile.schemaVersion + 1)")
    #expect { try DatabaseFile.migrate(path: path) } throws: { error in
        "\(error)".contains("newer than this hush knows")
    }
    let copy = path + ".copy"
    #expect { try DatabaseFile.backup(path: path, to: copy) } throws: { error in
        "\(error)".contains("newer than this hush knows")
    }
    #expect(!FileManager.default.fileExists(atPath: copy))
}

@Test func backup_CopiesEveryCommittedRow_ChecksIt_AndLeavesNoTemporaryFile() throws {
    let directory = try temporaryDirectory()
    let path = directory.appendingPathComponent("hush.db").path
    _ = try DatabaseFile.migrate(path: path)
    let db = try Database(path: path, mode: .readWrite)
    try db.exec("CREATE TABLE extra (v TEXT)")
    let insert = try db.prepare("INSERT INTO extra (v) VALUES (?1)")
    for i in 0..<1000 { try insert.run([.text("row \(i)")]) }
    let copy = directory.appendingPathComponent("copy.db").path
    let result = try DatabaseFile.backup(path: path, to: copy)
    #expect(result.schemaVersion == DatabaseFile.schemaVersion && result.bytes > 0)
    var count: Int64 = 0
    let copied = try Database(path: copy, mode: .readOnly)
    try copied.prepare("SELECT count(*) FROM extra").query([]) { count = $0.integer(0) ?? -1 }
    #expect(count == 1000)
    #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.contains(".tmp-") }.isEmpty)
    #expect { try DatabaseFile.backup(path: path, to: copy) } throws: { error in "\(error)".contains("never overwrites") }
    #expect { try DatabaseFile.backup(path: path + ".none", to: copy + "2") } throws: { error in "\(error)".contains("no database at") }
}

/// The index names of a database's replicated tables, as its schema stands.
private func indexNames(_ path: String) throws -> Set<String> {
    var names: Set<String> = []
    let db = try Database(path: path, mode: .readOnly)
    try db.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL")
        .query([]) { row in if let name = row.text(0) { names.insert(name) } }
    return names
}

@Test func aSnapshotLoad_DropsTheIndexes_AndItsEndBuildsThemAgain_WithTheirRows() throws {
    let path = try makeStorePath()
    let store = try SQLiteStore(path: path, tombstoneHash: { _ in [UInt8](repeating: 0, count: 32) }, renderHistory: describeRecord)
    defer { store.close() }
    let before = try indexNames(path)
    #expect(before.isSuperset(of: ["profiles_email", "suppressions_identity", "history_customer", "contacts_customer_at"]))
    try store.writeSQLiteAndWait { (w: SQLiteTransaction) throws(StoreError) in try w.dropIndexesForLoading() }
    #expect(try indexNames(path).isDisjoint(with: ["profiles_email", "suppressions_identity", "history_customer", "contacts_customer_at"]))
    try store.writeSQLiteAndWait { (w: SQLiteTransaction) throws(StoreError) in
        try w.applyReplicated(.profiles, values: ["C1", "FR", "Europe/Paris", "a@example.com", nil, "1"], key: "C1", loading: true)
        try w.restoreIndexesAfterLoading()
    }
    #expect(try indexNames(path) == before)
    // The rebuilt index finds the row written while it was gone.
    var found: [String] = []
    let db = try Database(path: path, mode: .readOnly)
    try db.prepare("SELECT customer_id FROM profiles INDEXED BY profiles_email WHERE email = 'a@example.com'")
        .query([]) { row in found.append(row.text(0) ?? "") }
    #expect(found == ["C1"])
}

@Test func aSnapshotLoadCutShort_GetsItsIndexesBack_WhenTheStoreOpens() throws {
    let path = try makeStorePath()
    let first = try SQLiteStore(path: path, tombstoneHash: { _ in [UInt8](repeating: 0, count: 32) }, renderHistory: describeRecord)
    let before = try indexNames(path)
    try first.writeSQLiteAndWait { (w: SQLiteTransaction) throws(StoreError) in try w.dropIndexesForLoading() }
    first.close()
    #expect(try indexNames(path).count < before.count)
    let second = try SQLiteStore(path: path, tombstoneHash: { _ in [UInt8](repeating: 0, count: 32) }, renderHistory: describeRecord)
    defer { second.close() }
    #expect(try indexNames(path) == before)
    // Restored once: a second restore has nothing to do.
    try second.writeSQLiteAndWait { (w: SQLiteTransaction) throws(StoreError) in try w.restoreIndexesAfterLoading() }
    #expect(try indexNames(path) == before)
}
