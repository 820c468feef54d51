import Foundation

public enum Severity: String, Sendable, Comparable, CaseIterable {
    case low, medium, high, critical
    public static func < (a: Severity, b: Severity) -> Bool {
        allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
    }
}

public enum CaseStatus: String, Sendable, CaseIterable { case open, pending, closed }
public enum Resolution: String, Sendable, CaseIterable { case positive, neutral, negative }

/// A service case from the CRM or service desk.
public struct ServiceCase: Sendable, Equatable {
    public var id: String
    public var customerID: String
    public var severity: Severity
    public var status: CaseStatus
    public var openedAt: Date
    public var closedAt: Date?
    public var resolution: Resolution?
    public var updatedAt: Date

    public init(id: String, customerID: String, severity: Severity, status: CaseStatus, openedAt: Date,
                closedAt: Date? = nil, resolution: Resolution? = nil, updatedAt: Date) {
        self.id = id; self.customerID = customerID; self.severity = severity; self.status = status
        self.openedAt = openedAt; self.closedAt = closedAt; self.resolution = resolution; self.updatedAt = updatedAt
    }
}

public enum SuppressionKind: String, Sendable, CaseIterable {
    case doNotContact = "do_not_contact", optOut = "opt_out", objection

    /// Whether a record of this kind that names no purposes covers `purpose` (DESIGN.md, "What
    /// a record covers": a do-not-contact marketing and service, the others marketing). A test
    /// rather than a set: it is asked for every suppression of every decision.
    public func coversByDefault(_ purpose: Purpose) -> Bool {
        purpose == .marketing || (self == .doNotContact && purpose == .service)
    }
}

/// Whom a suppression is about.
public enum Subject: Hashable, Sendable {
    case customer(String)
    case address(Address)
}

/// A do-not-contact, opt-out or objection. `channels` and `purposes` nil mean "all channels" and
/// "the kind's default purposes"; an empty set is refused by `validate()`.
public struct Suppression: Sendable, Equatable {
    public var id: String
    public var subject: Subject
    public var kind: SuppressionKind
    public var channels: Set<Channel>?
    public var purposes: Set<Purpose>?
    public var source: String?
    public var confirmed: Bool
    public var expiresAt: Date?

    public init(id: String, subject: Subject, kind: SuppressionKind, channels: Set<Channel>? = nil, purposes: Set<Purpose>? = nil,
                source: String? = nil, confirmed: Bool = true, expiresAt: Date? = nil) {
        self.id = id; self.subject = subject; self.kind = kind; self.channels = channels; self.purposes = purposes
        self.source = source; self.confirmed = confirmed; self.expiresAt = expiresAt
    }

    /// Scope rules: no empty lists; only a do_not_contact may name `transactional`.
    public func validate() throws(ValidationError) {
        if channels?.isEmpty == true { throw ValidationError(field: "channels", message: "must not be empty; omit it to mean all channels") }
        if purposes?.isEmpty == true { throw ValidationError(field: "purposes", message: "must not be empty; omit it for the kind's default") }
        if purposes?.contains(.transactional) == true, kind != .doNotContact {
            throw ValidationError(field: "purposes", message: "only a do_not_contact may cover transactional")
        }
    }
}

/// An environmental hold: a wildfire, a storm, a dry spell.
public struct Hold: Sendable, Equatable {
    public var id: String
    public var title: String
    public var reason: String
    /// ISO 3166 codes (`US`, `US-CA`), matched hierarchically; nil means everywhere.
    public var regions: [String]?
    public var channels: Set<Channel>?
    /// nil means marketing.
    public var purposes: Set<Purpose>?
    /// nil means every send.
    public var categories: Set<String>?
    public var startsAt: Date
    public var endsAt: Date?

    public init(id: String, title: String, reason: String = "", regions: [String]? = nil, channels: Set<Channel>? = nil,
                purposes: Set<Purpose>? = nil, categories: Set<String>? = nil, startsAt: Date, endsAt: Date? = nil) {
        self.id = id; self.title = title; self.reason = reason; self.regions = regions; self.channels = channels
        self.purposes = purposes; self.categories = categories; self.startsAt = startsAt; self.endsAt = endsAt
    }

    /// Whether the hold is in force at `time`: `[startsAt, endsAt)`, open-ended without an end.
    public func isActive(at time: Date) -> Bool {
        startsAt <= time && (endsAt.map { time < $0 } ?? true)
    }

    /// Scope rules: no empty lists; a hold never covers transactional sends; it ends after it starts.
    public func validate() throws(ValidationError) {
        if regions?.isEmpty == true { throw ValidationError(field: "regions", message: "must not be empty; omit it to mean everywhere") }
        if channels?.isEmpty == true { throw ValidationError(field: "channels", message: "must not be empty; omit it to mean all channels") }
        if purposes?.isEmpty == true { throw ValidationError(field: "purposes", message: "must not be empty; omit it to mean marketing") }
        if categories?.isEmpty == true { throw ValidationError(field: "categories", message: "must not be empty; omit it to mean every send") }
        if purposes?.contains(.transactional) == true { throw ValidationError(field: "purposes", message: "a hold cannot cover transactional") }
        if let endsAt, endsAt <= startsAt { throw ValidationError(field: "ends_at", message: "must be after starts_at") }
    }
}

/// What the CRM knows of a customer.
public struct Profile: Sendable, Equatable {
    public var customerID: String
    public var region: String?
    public var timeZone: TimeZone?
    public var email: String?
    public var phone: String?

    public init(customerID: String, region: String? = nil, timeZone: TimeZone? = nil, email: String? = nil, phone: String? = nil) {
        self.customerID = customerID; self.region = region; self.timeZone = timeZone; self.email = email; self.phone = phone
    }

    /// The profile's address for `channel`: its e-mail for `email`, its phone for `sms` and `voice`.
    public func address(for channel: Channel) -> Address? {
        switch channel {
        case .email: email.map { .email($0) }
        case .sms, .voice: phone.map { .phone($0) }
        default: nil
        }
    }
}

/// A send that happened (or was reserved).
public struct Contact: Sendable, Equatable {
    public var channel: Channel
    public var purpose: Purpose
    public var at: Date
    public init(channel: Channel, purpose: Purpose, at: Date) {
        self.channel = channel; self.purpose = purpose; self.at = at
    }
}

/// Something the customer did that says how willing they are to hear from us.
public struct Interaction: Sendable, Equatable {
    public var type: String
    public var score: Int
    public var at: Date
    public init(type: String, score: Int, at: Date) {
        self.type = type; self.score = score; self.at = at
    }
}

/// Everything one decision needs about one customer, gathered by the store.
public struct Facts: Sendable {
    public var profile: Profile?
    public var cases: [ServiceCase]
    public var suppressions: [Suppression]
    /// The holds that are in force at all; `decide` picks the ones that match.
    public var holds: [Hold]
    public var contacts: [Contact]
    public var interactions: [Interaction]
    /// An erasure tombstone matches the customer id.
    public var customerErased: Bool
    /// The addresses (of the request or the profile) that match an erasure tombstone.
    public var erasedAddresses: Set<Address>

    public init(profile: Profile? = nil, cases: [ServiceCase] = [], suppressions: [Suppression] = [], holds: [Hold] = [],
                contacts: [Contact] = [], interactions: [Interaction] = [], customerErased: Bool = false, erasedAddresses: Set<Address> = []) {
        self.profile = profile; self.cases = cases; self.suppressions = suppressions; self.holds = holds
        self.contacts = contacts; self.interactions = interactions; self.customerErased = customerErased; self.erasedAddresses = erasedAddresses
    }

    /// Whether anything is known of the customer: a profile, a case, a suppression, a contact
    /// or an interaction (holds are not about the customer).
    public var isKnown: Bool {
        if case .some = profile { return true }
        return !suppressions.isEmpty || !cases.isEmpty || !contacts.isEmpty || !interactions.isEmpty
    }
}
