import Foundation
import Testing
import HushCore
@testable import HushStore

@Suite struct ImportStageTests {
    let now = date("2026-11-24T10:00:00Z")

    /// The stage files beside `database`.
    func stageFiles(beside database: String) throws -> [String] {
        let url = URL(fileURLWithPath: database)
        return try FileManager.default.contentsOfDirectory(atPath: url.deletingLastPathComponent().path)
            .filter { $0.hasPrefix(url.lastPathComponent + ".import-") }
    }

    @Test func stagedRows_ComeBackWhole_InKeyOrder_EqualKeysInTheOrderStaged() throws {
        let database = try makeStorePath()
        let stage = try ImportStage<Suppression>(beside: database)
        // More than one batch of the stage, keys descending, each key twice with a different source.
        let count = ImportStage<Suppression>.batchRows + 321
        var staged: [Suppression] = []
        for i in (0..<count).reversed() {
            let subject: Subject = i % 3 == 0 ? .address(.phone("+4420\(String(format: "%08d", i))")) : .customer("c-\(i)")
            for source in ["first", "second"] {
                let row = Suppression(id: "", subject: subject, kind: i % 2 == 0 ? .optOut : .objection,
                                      channels: i % 5 == 0 ? nil : ["sms", "email"], purposes: i % 7 == 0 ? ["marketing"] : nil,
                                      source: source, confirmed: i % 2 == 1,
                                      expiresAt: i % 4 == 0 ? Date(timeIntervalSince1970: 1_900_000_000 + Double(i)) : nil)
                staged.append(row)
                try stage.append(row)
            }
        }
        #expect(stage.count == 2 * count)
        try stage.close()
        var read: [Suppression] = []
        try ImportRows.stage(stage).forEach { read.append($0) }
        #expect(read == StoreRows.inKeyOrder(staged, key: \.stageKey))
        #expect(read.first?.subject == .address(.phone("+442000000000")) && read.first?.source == "first")
        #expect(read[1].source == "second")
        #expect(try stageFiles(beside: database).count == 1)
        stage.remove()
        #expect(try stageFiles(beside: database).isEmpty)
    }

    /// Rows already in key order are read back as staged, without a sort; one row out of order
    /// anywhere sorts them all. Order is SQLite's, by bytes: "e" and a combining accent come
    /// before a precomposed "é" (Swift's String comparison calls the two equal).
    @Test func rowsStagedInKeyOrder_AreReadAsStaged_AndOneOutOfOrderSortsThemAll() throws {
        let database = try makeStorePath()
        func row(_ id: String, _ source: String) -> Suppression {
            Suppression(id: "", subject: .customer(id), kind: .optOut, channels: ["email"], source: source)
        }
        let ordered = (0..<5_000).map { row(String(format: "c-%05d", $0 / 2), $0 % 2 == 0 ? "first" : "second") }
        let inOrder = try ImportStage<Suppression>(beside: database)
        for r in ordered { try inOrder.append(r) }
        try inOrder.close()
        #expect(inOrder.inKeyOrder)
        var read: [Suppression] = []
        try ImportRows.stage(inOrder).forEach { read.append($0) }
        #expect(read == ordered)
        inOrder.remove()

        for late in [[row("c-e\u{301}", "x"), row("c-\u{E9}", "y")], [row("c-\u{E9}", "y"), row("c-e\u{301}", "x")]] {
            let stage = try ImportStage<Suppression>(beside: database)
            for r in ordered + late { try stage.append(r) }
            try stage.close()
            #expect(stage.inKeyOrder == (late[0].source == "x"))
            read = []
            try ImportRows.stage(stage).forEach { read.append($0) }
            #expect(read == ordered + [row("c-e\u{301}", "x"), row("c-\u{E9}", "y")])
            stage.remove()
        }
        let shuffled = try ImportStage<Suppression>(beside: database)
        for r in [ordered[4], ordered[0], ordered[1]] { try shuffled.append(r) }
        try shuffled.close()
        #expect(!shuffled.inKeyOrder)
        read = []
        try ImportRows.stage(shuffled).forEach { read.append($0) }
        #expect(read == [ordered[0], ordered[1], ordered[4]])
        shuffled.remove()
    }

    @Test func casesAndProfiles_SurviveTheStage() throws {
        let database = try makeStorePath()
        let cases = try ImportStage<ServiceCase>(beside: database)
        let open = ServiceCase(id: "k2", customerID: "c", severity: .high, status: .open, openedAt: date("2026-11-20T00:00:00Z").addingTimeInterval(0.123),
                               updatedAt: date("2026-11-20T00:00:00Z").addingTimeInterval(0.123))
        let closed = ServiceCase(id: "k1", customerID: "d", severity: .low, status: .closed, openedAt: date("2026-11-19T00:00:00Z"),
                                 closedAt: date("2026-11-21T00:00:00Z"), resolution: .negative, updatedAt: date("2026-11-21T00:00:00Z"))
        try cases.append(open)
        try cases.append(closed)
        try cases.close()
        var readCases: [ServiceCase] = []
        try ImportRows.stage(cases).forEach { readCases.append($0) }
        #expect(readCases == [closed.normalised, open.normalised])

        let profiles = try ImportStage<Profile>(beside: database)
        let full = Profile(customerID: "b", region: "GB-LND", timeZone: TimeZone(identifier: "Europe/London"), email: "b@example.com", phone: "+447700900123")
        let bare = Profile(customerID: "a")
        try profiles.append(full)
        try profiles.append(bare)
        try profiles.close()
        var readProfiles: [Profile] = []
        try ImportRows.stage(profiles).forEach { readProfiles.append($0) }
        #expect(readProfiles == [bare, full])
    }

    @Test func aReleasedStage_LeavesNoFile_AndLeftoversOfThisDatabaseOnlyAreRemoved() throws {
        let database = try makeStorePath()
        do {
            let stage = try ImportStage<Profile>(beside: database)
            try stage.append(Profile(customerID: "a"))
            #expect(try stageFiles(beside: database).count == 1)
        }
        #expect(try stageFiles(beside: database).isEmpty)
        let directory = URL(fileURLWithPath: database).deletingLastPathComponent().path
        let leftover = database + ".import-0123456789abcdef"
        let otherDatabase = (directory as NSString).appendingPathComponent("other.db.import-0123456789abcdef")
        let notAStage = database + ".import-notes.txt"
        for path in [leftover, otherDatabase, notAStage] { _ = FileManager.default.createFile(atPath: path, contents: Data("x".utf8)) }
        ImportStageFiles.removeLeftovers(beside: database)
        #expect(!FileManager.default.fileExists(atPath: leftover))
        #expect(FileManager.default.fileExists(atPath: otherDatabase))
        #expect(FileManager.default.fileExists(atPath: notAStage))
    }

    @Test func aStageThatCannotBeMade_NamesItsPath() throws {
        let database = "/nonexistent-directory-of-hush/hush.db"
        #expect { try ImportStage<Profile>(beside: database) } throws: {
            (($0 as? StoreError)?.message ?? "").contains("/nonexistent-directory-of-hush/hush.db.import-")
        }
    }

    @Test func aWriteJobRunAgain_ReadsTheStageAgain_AndARemovedStageFailsRatherThanImportNothing() throws {
        let store = try SQLiteStore(path: try makeStorePath(), clock: testClock, tombstoneHash: fakeHash, renderHistory: describeRecord)
        defer { store.close() }
        let stage = try ImportStage<Suppression>(beside: try makeStorePath())
        for i in 0..<500 { try stage.append(Suppression(id: "", subject: .customer("r-\(i)"), kind: .optOut, source: "list")) }
        try stage.close()
        let rows = ImportRows.stage(stage)
        // A first run that fails after reading every row (rolled back), as one a store retries.
        #expect { try store.writeAndWait(as: .test) { w throws(StoreError) in
            _ = try w.importSuppressions(rows, now: now)
            throw StoreError(kind: .unavailable, message: "the connection was lost")
        } } throws: { ($0 as? StoreError)?.kind == .unavailable }
        let again = try store.writeAndWait(as: .test) { w throws(StoreError) in try w.importSuppressions(rows, now: now) }
        #expect(again == (imported: 500, unchanged: 0))
        stage.remove()
        #expect { try store.writeAndWait(as: .test) { w throws(StoreError) in try w.importSuppressions(rows, now: now) } } throws: {
            (($0 as? StoreError)?.message ?? "").contains("are gone")
        }
        #expect(!FileManager.default.fileExists(atPath: stage.path), "reading a removed stage does not make an empty one")
    }

    /// A writer that stops part way (its body throws) gets its own error back, the thread
    /// reading ahead stops, and the stage can be read again whole: nothing waits forever.
    @Test func aReaderThatStopsPartWay_GetsItsError_AndTheStageReadsWholeAgain() throws {
        let database = try makeStorePath()
        let stage = try ImportStage<Suppression>(beside: database)
        let count = 6 * ImportStage<Suppression>.readBatchRows + 7
        for i in 0..<count { try stage.append(Suppression(id: "", subject: .customer(String(format: "c-%06d", i)), kind: .optOut, source: "list")) }
        try stage.close()
        for stopAt in [0, 1_500, count - 1] {
            var seen = 0
            #expect { try ImportRows.stage(stage).forEach { row throws(StoreError) in
                guard seen < stopAt else { throw StoreError(kind: .conflict, message: "stopped at \(seen)") }
                #expect(row.subject == .customer(String(format: "c-%06d", seen)))
                seen += 1
            } } throws: { ($0 as? StoreError)?.message == "stopped at \(stopAt)" }
            #expect(seen == stopAt)
        }
        var read = 0
        try ImportRows.stage(stage).forEach { _ in read += 1 }
        #expect(read == count)
        stage.remove()
    }

    /// A row the stage's writing thread cannot write (here: more values than the stage has
    /// columns) fails the stage: a later append or the close throws SQLite's error, and the
    /// stage can still be removed.
    @Test func aBatchThatCannotBeWritten_FailsALaterAppendOrTheClose() throws {
        struct Uneven: StagedRow, Equatable {
            var key: String
            var extra: Bool
            static var stageColumns: [String] { ["value"] }
            var stageKey: String { key }
            var stageValues: [String?] { extra ? [key, "one too many"] : [key] }
            static func unstage<R: ColumnRow>(_ row: R, zone: (String) -> TimeZone?) throws(StoreError) -> Uneven {
                Uneven(key: row.text(0) ?? "", extra: false)
            }
        }
        let database = try makeStorePath()
        let stage = try ImportStage<Uneven>(beside: database)
        var failure: StoreError?
        do {
            for i in 0..<(3 * ImportStage<Uneven>.batchRows) { try stage.append(Uneven(key: "k\(i)", extra: i == 10)) }
            try stage.close()
        } catch {
            failure = error
        }
        #expect(failure?.message.contains("column index out of range") == true, "\(String(describing: failure))")
        stage.remove()
        #expect(try stageFiles(beside: database).isEmpty)
    }

    /// A stage removed while batches wait to be written stops its writing thread first.
    @Test func aStageRemovedWithBatchesWaiting_LeavesNoFile() throws {
        let database = try makeStorePath()
        for _ in 0..<3 {
            let stage = try ImportStage<Suppression>(beside: database)
            for i in 0..<(3 * ImportStage<Suppression>.batchRows + 1) {
                try stage.append(Suppression(id: "", subject: .customer("c-\(i)"), kind: .optOut, source: "list"))
            }
            stage.remove()
            #expect(try stageFiles(beside: database).isEmpty)
            #expect { try stage.append(Suppression(id: "", subject: .customer("late"), kind: .optOut)) } throws: { _ in true }
        }
    }

    @Test func anImportOfMoreCustomersThanTheTouchedBound_RebuildsEveryRecord() throws {
        let path = try makeStorePath()
        let store = try SQLiteStore(path: path, clock: testClock, tombstoneHash: fakeHash, renderHistory: describeRecord)
        defer { store.close() }
        let rows = (0..<250).map { Suppression(id: "", subject: .customer("c-\($0)"), kind: .optOut, channels: ["email"], source: "list") }
        let (counts, waiting) = try store.writeSQLiteAndWait(as: .test) { w throws(StoreError) in
            w.touchedLimit = 16
            return (try w.importSuppressions(rows, now: now), w.touched.count)
        }
        #expect(counts == (imported: 250, unchanged: 0))
        // Settled as the rows went: fewer than the bound were left for the end of the job.
        #expect(waiting < 16)
        // The records the import made were kept beside the database until written: not after.
        #expect(try stageFiles(beside: path).isEmpty)
        let reader = try store.makeSQLiteReader()
        for i in 0..<250 {
            let facts = try reader.facts(customerID: "c-\(i)", address: nil, channel: "email", at: now, lookback: 60, holds: [], tombstoneHash: fakeHash)
            #expect(facts.suppressions.count == 1, "customer c-\(i) has no record")
        }
    }
}

@Suite struct ImportRecordTests {
    let now = date("2026-11-24T10:00:00Z")

    /// Every record, by key.
    func records(_ store: SQLiteStore) throws -> [[UInt8]] {
        try store.writeSQLiteAndWait { w throws(StoreError) in
            var all: [[UInt8]] = []
            try w.database.prepare("SELECT key, entries FROM customer_records ORDER BY key").query([]) { row in
                all.append(Array(String(row.integer(0) ?? 0).utf8) + [0] + row.blob(1))
            }
            return all
        }
    }

    /// Every record after a full rebuild from the tables.
    func rebuiltRecords(_ store: SQLiteStore) throws -> [[UInt8]] {
        _ = try store.writeSQLiteAndWait { w throws(StoreError) in
            try w.database.exec("DELETE FROM customer_records")
            try w.touchEveryCustomer()
            try w.rebuildTouched(now: now)
        }
        return try records(store)
    }

    @Test func recordsMadeByAnImport_AreThoseAFullRebuildMakes() throws {
        let store = try SQLiteStore(path: try makeStorePath(), clock: testClock, tombstoneHash: fakeHash, renderHistory: describeRecord)
        defer { store.close() }
        // Before: a customer with a profile (a record), one erased (a tombstone, no record), and
        // a profile carrying a number the import lists.
        _ = try store.writeAndWait(as: .test) { w throws(StoreError) in
            try w.upsertProfile(Profile(customerID: "known", region: "GB"), now: now)
            try w.upsertProfile(Profile(customerID: "carrier", phone: "+447700900001"), now: now)
            try w.upsertProfile(Profile(customerID: "gone", email: "gone@example.com"), now: now)
            _ = try w.erase(customerID: "gone", tombstoneHash: fakeHash)
        }
        func row(_ subject: Subject, _ kind: SuppressionKind = .optOut, source: String = "list", channels: Set<Channel>? = ["email"]) -> Suppression {
            Suppression(id: "", subject: subject, kind: kind, channels: channels, source: source)
        }
        var rows = (0..<300).map { row(.customer("c-\($0)")) }
        rows += [row(.customer("known")), row(.customer("gone")), row(.address(.phone("+447700900001")), channels: nil),
                 row(.customer("c-7"), .doNotContact, channels: nil), row(.customer("c-8"), source: "second"),
                 row(.customer("c-9"), channels: ["sms", "email"])]
        let counts = try store.writeSQLiteAndWait(as: .test) { w throws(StoreError) in
            w.touchedLimit = 50
            return try w.importSuppressions(.array(rows), now: now)
        }
        #expect(counts == (imported: 306, unchanged: 0))
        let imported = try records(store)
        #expect(imported.count == 303, "300 new customers, known, gone (erased) and carrier")
        #expect(try rebuiltRecords(store) == imported)
        let reader = try store.makeSQLiteReader()
        let c8 = try reader.facts(customerID: "c-8", address: nil, channel: "email", at: now, lookback: 60, holds: [], tombstoneHash: fakeHash)
        #expect(c8.suppressions.map(\.source) == ["second"], "the later row of the same identity is what is stored")
        let gone = try reader.facts(customerID: "gone", address: nil, channel: "email", at: now, lookback: 60, holds: [], tombstoneHash: fakeHash)
        #expect(gone.customerErased)
    }

    @Test func recordsMadeByAProfileImport_AreThoseAFullRebuildMakes() throws {
        let store = try SQLiteStore(path: try makeStorePath(), clock: testClock, tombstoneHash: fakeHash, renderHistory: describeRecord)
        defer { store.close() }
        // Before: a customer with a case (a record), an address suppression on a number, and an
        // erased customer whose profile had an address (both tombstoned).
        _ = try store.writeAndWait(as: .test) { w throws(StoreError) in
            _ = try w.upsertCase(ServiceCase(id: "k1", customerID: "known", severity: .high, status: .open, openedAt: now, updatedAt: now))
            _ = try w.addSuppression(Suppression(id: "", subject: .address(.phone("+447700900001")), kind: .doNotContact), now: now)
            try w.upsertProfile(Profile(customerID: "gone", email: "gone@example.com"), now: now)
            _ = try w.erase(customerID: "gone", tombstoneHash: fakeHash)
        }
        var rows = (0..<300).map { Profile(customerID: "p-\($0)", region: "GB", timeZone: TimeZone(identifier: "Europe/London"),
                                           email: "p\($0)@example.com") }
        rows += [Profile(customerID: "known", region: "FR"), Profile(customerID: "gone", region: "DE"),
                 Profile(customerID: "carrier", phone: "+447700900001"), Profile(customerID: "reuser", email: "gone@example.com")]
        let counts = try store.writeSQLiteAndWait(as: .test) { w throws(StoreError) in
            w.touchedLimit = 50
            return try w.importProfiles(.array(rows), now: now)
        }
        #expect(counts == (imported: 304, unchanged: 0))
        let imported = try records(store)
        #expect(imported.count == 304)
        #expect(try rebuiltRecords(store) == imported)
        let reader = try store.makeSQLiteReader()
        let carrier = try reader.facts(customerID: "carrier", address: nil, channel: "sms", at: now, lookback: 60, holds: [], tombstoneHash: fakeHash)
        #expect(carrier.suppressions.map(\.kind) == [.doNotContact], "the number's suppression is in the new customer's record")
        let reuser = try reader.facts(customerID: "reuser", address: nil, channel: "email", at: now, lookback: 60, holds: [], tombstoneHash: fakeHash)
        #expect(reuser.erasedAddresses == [.email("gone@example.com")])
        // The same rows again are unchanged.
        let again = try store.writeSQLiteAndWait(as: .test) { w throws(StoreError) in try w.importProfiles(.array(rows), now: now) }
        #expect(again == (imported: 0, unchanged: 304))
    }
}

@Suite struct ReplicatedSpillTests {
    /// A replicated row's values survive the spill file (NULL, empty, UTF-8, long), in the
    /// order appended; bytes the encoding could not have made are refused, not misread.
    @Test func valuesComeBackAsAppended_AndBytesThatAreNotAnEncodingAreRefused() throws {
        let database = try makeStorePath()
        let spill = try ReplicatedSpill(beside: database)
        let rows: [(ReplicatedTable, [String?]?, String)] = (0..<(ScratchTable<Int>.batchRows + 5)).map { i in
            i % 7 == 0 ? (.suppressions, nil, "s-\(i)")
                       : (.profiles, ["c-\(i)", nil, "", "Zoë \u{1F600}", String(repeating: "x", count: i % 300), "\(i)"], "c-\(i)")
        }
        // Every third row an insert: the flag comes back with its row.
        for (i, (table, values, key)) in rows.enumerated() { try spill.append(table, values: values, key: key, inserted: i % 3 == 0) }
        #expect(spill.count == rows.count)
        try spill.close()
        var read: [(ReplicatedTable, [String?]?, String, Bool)] = []
        try spill.forEach { read.append(($0, $1, $2, $3)) }
        #expect(read.count == rows.count)
        #expect(zip(read, rows).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 && $0.2 == $1.2 })
        #expect(read.enumerated().allSatisfy { i, row in row.3 == (i % 3 == 0) })
        spill.remove()
        #expect(!FileManager.default.fileExists(atPath: spill.path))

        let good = ReplicatedSpill.encode(["ab", nil, ""])
        #expect(good.withUnsafeBytes { ReplicatedSpill.decode($0) } == ["ab", nil, ""])
        for bad: [UInt8] in [[2], [1, 3, 0, 0], [1, 3, 0, 0, 0, 0x61], [1, 1, 0, 0, 0, 0xFF], Array(good.dropLast())] {
            #expect(bad.withUnsafeBytes { ReplicatedSpill.decode($0) } == nil, "\(bad)")
        }
    }
}

@Suite struct PageCacheTests {
    /// A larger page cache for one piece of work, and the connection's own again after it,
    /// whether the work succeeds or throws.
    @Test func thePageCacheIsLargerForTheWork_AndAsItWasAfter() throws {
        let store = try SQLiteStore(path: try makeStorePath(), clock: testClock, tombstoneHash: fakeHash, renderHistory: describeRecord)
        defer { store.close() }
        let sizes = try store.writeSQLiteAndWait { w throws(StoreError) in
            func size() throws(StoreError) -> Int64 {
                var size: Int64 = 0
                try w.database.prepare("PRAGMA cache_size").query([]) { size = $0.integer(0) ?? 0 }
                return size
            }
            let before = try size()
            let during = try w.withPageCache(kib: 65_536) { () throws(StoreError) in try size() }
            let afterFailure: Int64
            do {
                try w.withPageCache(kib: 4_096) { () throws(StoreError) in throw StoreError(kind: .conflict, message: "no") }
                afterFailure = 0
            } catch {
                afterFailure = try size()
            }
            return [before, during, try size(), afterFailure]
        }
        #expect(sizes == [-2000, -65_536, -2000, -2000])
    }
}
