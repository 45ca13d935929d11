// The state of a stream, as evolve() folds it from the stream's events.
//
// registration_state holds a registered object (resource or product), every
// application made for it (at most one open at a time) and its lifecycle;
// account_state holds a subject's real-name account (第12条). Both are plain
// values: decide() reads them, evolve() returns the next one. A state with
// version 0 is a stream that has no events yet.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "engine/events.h"
#include "engine/ids.h"
#include "engine/time.h"
#include "engine/vocabulary.h"

namespace regledger {

struct objection_state {
    regledger::objection_id id;
    regledger::objector objector;
    std::string grounds;
    std::vector<material> evidence;
    bool open = true;
    bool upheld = false;

    friend bool operator==(const objection_state&, const objection_state&) = default;
};

struct application_state {
    regledger::application_id id;
    application_kind kind = application_kind::initial;
    application_status status = application_status::submitted;
    regledger::institution_id institution_id;
    account_id submitted_by;
    std::vector<applicant> applicants;
    std::optional<registration_record> record;
    std::vector<material> materials;
    // Facts the calendar computed, as the events wrote them.
    calendar_date acceptance_due;
    std::optional<calendar_date> review_due;
    std::optional<calendar_date> publicity_start;
    std::optional<calendar_date> publicity_end;
    bool calendar_provisional = false;
    bool acceptance_overdue = false;
    bool review_overdue = false;
    int review_delay_explanations = 0;
    bool publicity_ended = false;
    std::vector<objection_state> objections;

    bool is_final() const noexcept;
    bool has_open_objection() const noexcept;
    const objection_state* find_objection(const regledger::objection_id& id) const noexcept;

    friend bool operator==(const application_state&, const application_state&) = default;
};

// The revocation in force, if any (第23条).
struct revocation_state {
    regledger::institution_id revoked_by;
    revocation_grounds grounds = revocation_grounds::other;
    std::string announcement;
    // Set when a municipal revocation was filed with the province.
    std::optional<regledger::institution_id> filed_with;

    friend bool operator==(const revocation_state&, const revocation_state&) = default;
};

struct registration_state {
    regledger::registration_id id;
    stream_version version{0};
    registration_status status = registration_status::pending;
    regledger::institution_id institution_id;
    // The holders: the applicants of the initial application.
    std::vector<applicant> applicants;
    std::optional<registration_record> record;
    std::uint32_t record_version = 0;
    std::optional<std::string> code;
    std::optional<std::string> code_scheme;
    std::optional<calendar_date> valid_from;
    std::optional<calendar_date> valid_until;
    std::optional<calendar_date> renewal_window_opens;
    bool renewal_window_notified = false;
    // ValidityExpired was recorded for the current valid_until.
    bool validity_expired = false;
    // Validity ended while a renewal was open: deregistration waits for it.
    bool awaiting_renewal_outcome = false;
    std::optional<revocation_state> revocation;
    // Every application, in submission order; at most one is not final.
    std::vector<application_state> applications;

    bool exists() const noexcept { return version.value() > 0; }
    const application_state* open_application() const noexcept;
    application_state* open_application() noexcept;
    const application_state* find_application(const regledger::application_id& id) const noexcept;
    application_state* find_application(const regledger::application_id& id) noexcept;

    friend bool operator==(const registration_state&, const registration_state&) = default;
};

struct account_state {
    regledger::account_id id;
    stream_version version{0};
    std::string name;
    std::string uscc;
    regledger::subject_type subject_type = regledger::subject_type::other;
    std::string region_code;
    bool verified = false;
    std::optional<regledger::institution_id> verified_by;

    bool exists() const noexcept { return version.value() > 0; }

    friend bool operator==(const account_state&, const account_state&) = default;
};

// Fold one event into a state. Events are facts: evolve never fails, and an
// event that does not belong to the stream kind is a programmer error
// (asserted).
registration_state evolve(registration_state state, const event& e);
account_state evolve(account_state state, const event& e);

}  // namespace regledger
