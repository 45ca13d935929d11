// Events: the facts the ledger records (DOMAIN.md). Past tense, immutable.
//
// `event` is a std::variant of every event struct. Its alternative order is
// the event type id (id = index + 1), the same number as the FlatBuffers union
// tag in schemas/events.fbs: it only grows at the end and an id is never
// reused. A consumer visits an event without a default branch, so a new event
// fails to compile until every consumer handles it.
//
// Deadlines are written into events as dates (the last day of the period,
// inclusive; for renewal_window_opens the first day of the window), together
// with whether the calendar covered the year (`calendar_provisional`), so that
// replay never depends on today's calendar file.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <boost/describe/class.hpp>

#include "engine/ids.h"
#include "engine/time.h"
#include "engine/vocabulary.h"

namespace regledger {

// ---- Account stream (acct-<account_id>), 第12条 -------------------------------

struct account_opened {
    static constexpr std::string_view type_name = "AccountOpened";
    regledger::account_id account_id;
    std::string name;
    std::string uscc;
    regledger::subject_type subject_type = regledger::subject_type::other;
    std::string region_code;
    friend bool operator==(const account_opened&, const account_opened&) = default;
};
BOOST_DESCRIBE_STRUCT(account_opened, (), (account_id, name, uscc, subject_type, region_code))

// The institution's clerk has done the real-name check.
struct account_verified {
    static constexpr std::string_view type_name = "AccountVerified";
    regledger::account_id account_id;
    institution_id verified_by;
    friend bool operator==(const account_verified&, const account_verified&) = default;
};
BOOST_DESCRIBE_STRUCT(account_verified, (), (account_id, verified_by))

// ---- Registration stream (reg-<registration_id>) ------------------------------

// 第15、16条. `record` is present for initial, change and correction.
struct application_submitted {
    static constexpr std::string_view type_name = "ApplicationSubmitted";
    regledger::application_id application_id;
    regledger::registration_id registration_id;
    application_kind kind = application_kind::initial;
    regledger::institution_id institution_id;
    account_id submitted_by;
    std::vector<applicant> applicants;
    std::optional<registration_record> record;
    std::vector<material> materials;
    calendar_date acceptance_due;
    bool calendar_provisional = false;
    friend bool operator==(const application_submitted&, const application_submitted&) = default;
};
BOOST_DESCRIBE_STRUCT(application_submitted, (),
                      (application_id, registration_id, kind, institution_id, submitted_by, applicants, record, materials,
                       acceptance_due, calendar_provisional))

// 一次性告知 (第16条): once per submission.
struct supplement_requested {
    static constexpr std::string_view type_name = "SupplementRequested";
    regledger::application_id application_id;
    std::vector<std::string> items;
    std::string note;
    friend bool operator==(const supplement_requested&, const supplement_requested&) = default;
};
BOOST_DESCRIBE_STRUCT(supplement_requested, (), (application_id, items, note))

// The acceptance clock restarts from the resubmission date (第16条).
struct materials_resubmitted {
    static constexpr std::string_view type_name = "MaterialsResubmitted";
    regledger::application_id application_id;
    std::optional<registration_record> record;
    std::vector<material> materials;
    calendar_date acceptance_due;
    bool calendar_provisional = false;
    friend bool operator==(const materials_resubmitted&, const materials_resubmitted&) = default;
};
BOOST_DESCRIBE_STRUCT(materials_resubmitted, (),
                      (application_id, record, materials, acceptance_due, calendar_provisional))

// A flag: the application stays submitted.
struct acceptance_overdue {
    static constexpr std::string_view type_name = "AcceptanceOverdue";
    regledger::application_id application_id;
    calendar_date acceptance_due;
    friend bool operator==(const acceptance_overdue&, const acceptance_overdue&) = default;
};
BOOST_DESCRIBE_STRUCT(acceptance_overdue, (), (application_id, acceptance_due))

struct application_accepted {
    static constexpr std::string_view type_name = "ApplicationAccepted";
    regledger::application_id application_id;
    calendar_date review_due;
    bool calendar_provisional = false;
    friend bool operator==(const application_accepted&, const application_accepted&) = default;
};
BOOST_DESCRIBE_STRUCT(application_accepted, (), (application_id, review_due, calendar_provisional))

struct application_rejected {
    static constexpr std::string_view type_name = "ApplicationRejected";
    regledger::application_id application_id;
    std::string reason;
    friend bool operator==(const application_rejected&, const application_rejected&) = default;
};
BOOST_DESCRIBE_STRUCT(application_rejected, (), (application_id, reason))

struct application_withdrawn {
    static constexpr std::string_view type_name = "ApplicationWithdrawn";
    regledger::application_id application_id;
    friend bool operator==(const application_withdrawn&, const application_withdrawn&) = default;
};
BOOST_DESCRIBE_STRUCT(application_withdrawn, (), (application_id))

// 第17条: the institution must then explain the delay.
struct review_overdue {
    static constexpr std::string_view type_name = "ReviewOverdue";
    regledger::application_id application_id;
    calendar_date review_due;
    friend bool operator==(const review_overdue&, const review_overdue&) = default;
};
BOOST_DESCRIBE_STRUCT(review_overdue, (), (application_id, review_due))

struct review_delay_explained {
    static constexpr std::string_view type_name = "ReviewDelayExplained";
    regledger::application_id application_id;
    std::string reason;
    friend bool operator==(const review_delay_explained&, const review_delay_explained&) = default;
};
BOOST_DESCRIBE_STRUCT(review_delay_explained, (), (application_id, reason))

struct review_passed {
    static constexpr std::string_view type_name = "ReviewPassed";
    regledger::application_id application_id;
    friend bool operator==(const review_passed&, const review_passed&) = default;
};
BOOST_DESCRIBE_STRUCT(review_passed, (), (application_id))

struct review_failed {
    static constexpr std::string_view type_name = "ReviewFailed";
    regledger::application_id application_id;
    std::string reason;
    friend bool operator==(const review_failed&, const review_failed&) = default;
};
BOOST_DESCRIBE_STRUCT(review_failed, (), (application_id, reason))

// 第18条: starts on the day the review passes, runs N working days after it.
struct publicity_started {
    static constexpr std::string_view type_name = "PublicityStarted";
    regledger::application_id application_id;
    calendar_date publicity_start;
    calendar_date publicity_end;
    bool calendar_provisional = false;
    friend bool operator==(const publicity_started&, const publicity_started&) = default;
};
BOOST_DESCRIBE_STRUCT(publicity_started, (), (application_id, publicity_start, publicity_end, calendar_provisional))

// 第19条: real name and evidence, during the publicity period only.
struct objection_filed {
    static constexpr std::string_view type_name = "ObjectionFiled";
    regledger::application_id application_id;
    regledger::objection_id objection_id;
    regledger::objector objector;
    std::string grounds;
    std::vector<material> evidence;
    friend bool operator==(const objection_filed&, const objection_filed&) = default;
};
BOOST_DESCRIBE_STRUCT(objection_filed, (), (application_id, objection_id, objector, grounds, evidence))

struct objection_upheld {
    static constexpr std::string_view type_name = "ObjectionUpheld";
    regledger::application_id application_id;
    regledger::objection_id objection_id;
    std::string reason;
    friend bool operator==(const objection_upheld&, const objection_upheld&) = default;
};
BOOST_DESCRIBE_STRUCT(objection_upheld, (), (application_id, objection_id, reason))

struct objection_dismissed {
    static constexpr std::string_view type_name = "ObjectionDismissed";
    regledger::application_id application_id;
    regledger::objection_id objection_id;
    std::string reason;
    friend bool operator==(const objection_dismissed&, const objection_dismissed&) = default;
};
BOOST_DESCRIBE_STRUCT(objection_dismissed, (), (application_id, objection_id, reason))

// An upheld objection ends the registration_id procedure (第19条).
struct application_terminated {
    static constexpr std::string_view type_name = "ApplicationTerminated";
    regledger::application_id application_id;
    regledger::objection_id objection_id;
    friend bool operator==(const application_terminated&, const application_terminated&) = default;
};
BOOST_DESCRIBE_STRUCT(application_terminated, (), (application_id, objection_id))

struct publicity_ended {
    static constexpr std::string_view type_name = "PublicityEnded";
    regledger::application_id application_id;
    calendar_date publicity_end;
    friend bool operator==(const publicity_ended&, const publicity_ended&) = default;
};
BOOST_DESCRIBE_STRUCT(publicity_ended, (), (application_id, publicity_end))

// Completion of an initial application (第20条): the registration_id is valid.
struct code_issued {
    static constexpr std::string_view type_name = "CodeIssued";
    regledger::application_id application_id;
    std::string code;
    std::string scheme;
    calendar_date valid_from;
    calendar_date valid_until;
    calendar_date renewal_window_opens;
    friend bool operator==(const code_issued&, const code_issued&) = default;
};
BOOST_DESCRIBE_STRUCT(code_issued, (), (application_id, code, scheme, valid_from, valid_until, renewal_window_opens))

// Completion of a change: a new record version; code and validity unchanged.
struct registration_changed {
    static constexpr std::string_view type_name = "RegistrationChanged";
    regledger::application_id application_id;
    registration_record record;
    std::uint32_t record_version = 1;
    friend bool operator==(const registration_changed&, const registration_changed&) = default;
};
BOOST_DESCRIBE_STRUCT(registration_changed, (), (application_id, record, record_version))

struct registration_corrected {
    static constexpr std::string_view type_name = "RegistrationCorrected";
    regledger::application_id application_id;
    registration_record record;
    std::uint32_t record_version = 1;
    friend bool operator==(const registration_corrected&, const registration_corrected&) = default;
};
BOOST_DESCRIBE_STRUCT(registration_corrected, (), (application_id, record, record_version))

// Voluntary (a completed deregistration application) or expired (validity
// ended with no application open, or the application open at expiry ended
// without a granted renewal).
struct registration_deregistered {
    static constexpr std::string_view type_name = "RegistrationDeregistered";
    std::optional<regledger::application_id> application_id;
    deregistration_reason reason = deregistration_reason::voluntary;
    friend bool operator==(const registration_deregistered&, const registration_deregistered&) = default;
};
BOOST_DESCRIBE_STRUCT(registration_deregistered, (), (application_id, reason))

// A notification: renewal may be submitted from today to valid_until.
struct renewal_window_opened {
    static constexpr std::string_view type_name = "RenewalWindowOpened";
    calendar_date renewal_window_opens;
    calendar_date valid_until;
    friend bool operator==(const renewal_window_opened&, const renewal_window_opened&) = default;
};
BOOST_DESCRIBE_STRUCT(renewal_window_opened, (), (renewal_window_opens, valid_until))

struct validity_expired {
    static constexpr std::string_view type_name = "ValidityExpired";
    calendar_date valid_until;
    // An application was open (typically a renewal): deregistration waits
    // for its outcome, and only a granted renewal keeps the registration.
    bool application_pending = false;
    friend bool operator==(const validity_expired&, const validity_expired&) = default;
};
BOOST_DESCRIBE_STRUCT(validity_expired, (), (valid_until, application_pending))

// Completion of a renewal (第13条): no publicity.
struct renewal_granted {
    static constexpr std::string_view type_name = "RenewalGranted";
    regledger::application_id application_id;
    calendar_date previous_valid_until;
    calendar_date valid_until;
    calendar_date renewal_window_opens;
    friend bool operator==(const renewal_granted&, const renewal_granted&) = default;
};
BOOST_DESCRIBE_STRUCT(renewal_granted, (), (application_id, previous_valid_until, valid_until, renewal_window_opens))

// 第23条: revocation with a public announcement.
struct registration_revoked {
    static constexpr std::string_view type_name = "RegistrationRevoked";
    regledger::institution_id institution_id;
    revocation_grounds grounds = revocation_grounds::other;
    std::string announcement;
    friend bool operator==(const registration_revoked&, const registration_revoked&) = default;
};
BOOST_DESCRIBE_STRUCT(registration_revoked, (), (institution_id, grounds, announcement))

// 第23条: a municipal revocation is filed with the provincial institution.
struct revocation_filed {
    static constexpr std::string_view type_name = "RevocationFiled";
    institution_id revoked_by;
    institution_id filed_with;
    friend bool operator==(const revocation_filed&, const revocation_filed&) = default;
};
BOOST_DESCRIBE_STRUCT(revocation_filed, (), (revoked_by, filed_with))

// The provincial institution corrects a municipal revocation (第23条).
struct revocation_annulled {
    static constexpr std::string_view type_name = "RevocationAnnulled";
    institution_id annulled_by;
    std::string reason;
    registration_status restored_status = registration_status::valid;
    friend bool operator==(const revocation_annulled&, const revocation_annulled&) = default;
};
BOOST_DESCRIBE_STRUCT(revocation_annulled, (), (annulled_by, reason, restored_status))

// A signed checkpoint of the log's Merkle tree (events/merkle.h): the root
// of the first `tree_size` records of `partition`, signed by the ledger's
// Ed25519 key (events/signing.h) over checkpoint_message() of
// events/checkpoint.h. The writer appends it to the partition's own stream
// (ledger_stream()), so it is itself a leaf of the trees after it, chained
// to the checkpoint before it.
struct ledger_checkpointed {
    static constexpr std::string_view type_name = "LedgerCheckpointed";
    std::int32_t partition = 0;
    std::uint64_t tree_size = 0;
    digest root_hash;
    instant signed_at;
    // events/signing.h: 16 hex digits naming the public key.
    std::string key_id;
    // The 64-byte Ed25519 signature, as 128 lower-case hex digits.
    std::string signature;
    friend bool operator==(const ledger_checkpointed&, const ledger_checkpointed&) = default;
};
BOOST_DESCRIBE_STRUCT(ledger_checkpointed, (), (partition, tree_size, root_hash, signed_at, key_id, signature))

// Append new events at the END only: the index is the wire type id - 1.
using event = std::variant<account_opened,          // 1
                           account_verified,        // 2
                           application_submitted,   // 3
                           supplement_requested,    // 4
                           materials_resubmitted,   // 5
                           acceptance_overdue,      // 6
                           application_accepted,    // 7
                           application_rejected,    // 8
                           application_withdrawn,   // 9
                           review_overdue,          // 10
                           review_delay_explained,  // 11
                           review_passed,           // 12
                           review_failed,           // 13
                           publicity_started,       // 14
                           objection_filed,         // 15
                           objection_upheld,        // 16
                           objection_dismissed,     // 17
                           application_terminated,  // 18
                           publicity_ended,         // 19
                           code_issued,             // 20
                           registration_changed,    // 21
                           registration_corrected,  // 22
                           registration_deregistered,  // 23
                           renewal_window_opened,   // 24
                           validity_expired,        // 25
                           renewal_granted,         // 26
                           registration_revoked,    // 27
                           revocation_filed,        // 28
                           revocation_annulled,     // 29
                           ledger_checkpointed      // 30
                           >;

using event_type_id = std::uint16_t;

inline event_type_id type_id_of(const event& e) noexcept { return static_cast<event_type_id>(e.index() + 1); }

inline std::string_view type_name_of(const event& e) noexcept {
    return std::visit([](const auto& v) { return std::decay_t<decltype(v)>::type_name; }, e);
}

// The type id of the event named `name` ("ApplicationAccepted"), or nullopt.
std::optional<event_type_id> type_id_of_name(std::string_view name) noexcept;
// The name of a type id, or nullopt for ids this build does not know.
std::optional<std::string_view> type_name_of_id(event_type_id id) noexcept;

inline constexpr event_type_id event_type_count = std::variant_size_v<event>;

}  // namespace regledger
