import HushCore
import HushStore

/// The records as the API shows them: in answers, in the single customer view, and in the
/// history of changes (which keeps what clients were shown).
extension JSONWriter {
    /// A case as the API shows it.
    mutating func serviceCase(_ c: ServiceCase) {
        objectStart()
        key("case_id"); string(c.id)
        key("customer_id"); string(c.customerID)
        key("severity"); string(c.severity.rawValue)
        key("status"); string(c.status.rawValue)
        key("opened_at"); time(c.openedAt)
        key("closed_at"); time(c.closedAt)
        key("resolution"); string(c.resolution?.rawValue)
        key("updated_at"); time(c.updatedAt)
        objectEnd()
    }

    /// A hold as the API shows it.
    mutating func hold(_ h: Hold) {
        objectStart()
        key("id"); string(h.id)
        key("title"); string(h.title)
        key("reason"); string(h.reason)
        key("regions"); strings(h.regions)
        key("channels"); strings(h.channels.map { $0.map(\.rawValue).sorted() })
        key("purposes"); strings(h.purposes.map { $0.map(\.rawValue).sorted() })
        key("categories"); strings(h.categories.map { $0.sorted() })
        key("starts_at"); time(h.startsAt)
        key("ends_at"); time(h.endsAt)
        objectEnd()
    }

    /// A suppression as the API shows it.
    mutating func suppression(_ s: Suppression) {
        objectStart()
        key("id"); string(s.id)
        switch s.subject {
        case .customer(let id): key("customer_id"); string(id)
        case .address(let address): key("address"); string(address.value)
        }
        key("kind"); string(s.kind.rawValue)
        key("channels"); strings(s.channels.map { $0.map(\.rawValue).sorted() })
        key("purposes"); strings(s.purposes.map { $0.map(\.rawValue).sorted() })
        key("source"); string(s.source)
        key("confirmed"); bool(s.confirmed)
        key("expires_at"); time(s.expiresAt)
        objectEnd()
    }

    /// A profile as the API shows it.
    mutating func profile(_ p: Profile) {
        objectStart()
        key("customer_id"); string(p.customerID)
        key("region"); string(p.region)
        key("timezone"); string(p.timeZone?.name)
        key("email"); string(p.email)
        key("phone"); string(p.phone)
        objectEnd()
    }

    /// A record as JSON text, for the history (`HistoryRenderer`).
    static func render(_ record: HistoryRecord) -> String {
        var w = JSONWriter()
        switch record {
        case .profile(let p): w.profile(p)
        case .serviceCase(let c): w.serviceCase(c)
        case .suppression(let s): w.suppression(s)
        case .hold(let h): w.hold(h)
        }
        return String(decoding: w.bytes, as: UTF8.self)
    }
}
