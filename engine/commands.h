// Commands: what people (and the deadline scheduler) ask the ledger to do.
// Imperative names; fields exactly as API.md's `POST /v1/commands` table.
//
// `command` is a std::variant of every command; `command_envelope` adds what
// every command carries (its client-chosen id, an optional expected stream
// version, and who issues it). The timeout commands at the end are issued only
// by the scheduler (role `system`), with deterministic ids (see timer_command_id
// in engine/deadlines.h), and do nothing when no longer relevant.
#pragma once

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

struct open_account {
    static constexpr std::string_view type_name = "OpenAccount";
    regledger::account_id account_id;
    std::string name;
    std::string uscc;
    regledger::subject_type subject_type = regledger::subject_type::other;
    std::string region_code;
    friend bool operator==(const open_account&, const open_account&) = default;
};
BOOST_DESCRIBE_STRUCT(open_account, (), (account_id, name, uscc, subject_type, region_code))

struct verify_account {
    static constexpr std::string_view type_name = "VerifyAccount";
    regledger::account_id account_id;
    friend bool operator==(const verify_account&, const verify_account&) = default;
};
BOOST_DESCRIBE_STRUCT(verify_account, (), (account_id))

struct submit_application {
    static constexpr std::string_view type_name = "SubmitApplication";
    regledger::application_id application_id;
    application_kind kind = application_kind::initial;
    regledger::registration_id registration_id;
    regledger::institution_id institution_id;
    std::vector<applicant> applicants;
    std::optional<registration_record> record;
    std::vector<material> materials;
    friend bool operator==(const submit_application&, const submit_application&) = default;
};
BOOST_DESCRIBE_STRUCT(submit_application, (),
                      (application_id, kind, registration_id, institution_id, applicants, record, materials))

struct request_supplement {
    static constexpr std::string_view type_name = "RequestSupplement";
    regledger::application_id application_id;
    std::vector<std::string> items;
    std::string note;
    friend bool operator==(const request_supplement&, const request_supplement&) = default;
};
BOOST_DESCRIBE_STRUCT(request_supplement, (), (application_id, items, note))

struct resubmit_materials {
    static constexpr std::string_view type_name = "ResubmitMaterials";
    regledger::application_id application_id;
    std::optional<registration_record> record;
    std::vector<material> materials;
    friend bool operator==(const resubmit_materials&, const resubmit_materials&) = default;
};
BOOST_DESCRIBE_STRUCT(resubmit_materials, (), (application_id, record, materials))

struct accept_application {
    static constexpr std::string_view type_name = "AcceptApplication";
    regledger::application_id application_id;
    friend bool operator==(const accept_application&, const accept_application&) = default;
};
BOOST_DESCRIBE_STRUCT(accept_application, (), (application_id))

struct reject_application {
    static constexpr std::string_view type_name = "RejectApplication";
    regledger::application_id application_id;
    std::string reason;
    friend bool operator==(const reject_application&, const reject_application&) = default;
};
BOOST_DESCRIBE_STRUCT(reject_application, (), (application_id, reason))

struct withdraw_application {
    static constexpr std::string_view type_name = "WithdrawApplication";
    regledger::application_id application_id;
    friend bool operator==(const withdraw_application&, const withdraw_application&) = default;
};
BOOST_DESCRIBE_STRUCT(withdraw_application, (), (application_id))

struct pass_review {
    static constexpr std::string_view type_name = "PassReview";
    regledger::application_id application_id;
    friend bool operator==(const pass_review&, const pass_review&) = default;
};
BOOST_DESCRIBE_STRUCT(pass_review, (), (application_id))

struct fail_review {
    static constexpr std::string_view type_name = "FailReview";
    regledger::application_id application_id;
    std::string reason;
    friend bool operator==(const fail_review&, const fail_review&) = default;
};
BOOST_DESCRIBE_STRUCT(fail_review, (), (application_id, reason))

struct explain_review_delay {
    static constexpr std::string_view type_name = "ExplainReviewDelay";
    regledger::application_id application_id;
    std::string reason;
    friend bool operator==(const explain_review_delay&, const explain_review_delay&) = default;
};
BOOST_DESCRIBE_STRUCT(explain_review_delay, (), (application_id, reason))

struct file_objection {
    static constexpr std::string_view type_name = "FileObjection";
    regledger::application_id application_id;
    regledger::objection_id objection_id;
    regledger::objector objector;
    std::string grounds;
    std::vector<material> evidence;
    friend bool operator==(const file_objection&, const file_objection&) = default;
};
BOOST_DESCRIBE_STRUCT(file_objection, (), (application_id, objection_id, objector, grounds, evidence))

struct uphold_objection {
    static constexpr std::string_view type_name = "UpholdObjection";
    regledger::application_id application_id;
    regledger::objection_id objection_id;
    std::string reason;
    friend bool operator==(const uphold_objection&, const uphold_objection&) = default;
};
BOOST_DESCRIBE_STRUCT(uphold_objection, (), (application_id, objection_id, reason))

struct dismiss_objection {
    static constexpr std::string_view type_name = "DismissObjection";
    regledger::application_id application_id;
    regledger::objection_id objection_id;
    std::string reason;
    friend bool operator==(const dismiss_objection&, const dismiss_objection&) = default;
};
BOOST_DESCRIBE_STRUCT(dismiss_objection, (), (application_id, objection_id, reason))

struct revoke_registration {
    static constexpr std::string_view type_name = "RevokeRegistration";
    regledger::registration_id registration_id;
    revocation_grounds grounds = revocation_grounds::other;
    std::string announcement;
    friend bool operator==(const revoke_registration&, const revoke_registration&) = default;
};
BOOST_DESCRIBE_STRUCT(revoke_registration, (), (registration_id, grounds, announcement))

struct annul_revocation {
    static constexpr std::string_view type_name = "AnnulRevocation";
    regledger::registration_id registration_id;
    std::string reason;
    friend bool operator==(const annul_revocation&, const annul_revocation&) = default;
};
BOOST_DESCRIBE_STRUCT(annul_revocation, (), (registration_id, reason))

// ---- Timeout commands: issued by the scheduler only --------------------------

struct mark_acceptance_overdue {
    static constexpr std::string_view type_name = "MarkAcceptanceOverdue";
    regledger::registration_id registration_id;
    regledger::application_id application_id;
    calendar_date acceptance_due;
    friend bool operator==(const mark_acceptance_overdue&, const mark_acceptance_overdue&) = default;
};
BOOST_DESCRIBE_STRUCT(mark_acceptance_overdue, (), (registration_id, application_id, acceptance_due))

struct mark_review_overdue {
    static constexpr std::string_view type_name = "MarkReviewOverdue";
    regledger::registration_id registration_id;
    regledger::application_id application_id;
    calendar_date review_due;
    friend bool operator==(const mark_review_overdue&, const mark_review_overdue&) = default;
};
BOOST_DESCRIBE_STRUCT(mark_review_overdue, (), (registration_id, application_id, review_due))

struct end_publicity {
    static constexpr std::string_view type_name = "EndPublicity";
    regledger::registration_id registration_id;
    regledger::application_id application_id;
    calendar_date publicity_end;
    friend bool operator==(const end_publicity&, const end_publicity&) = default;
};
BOOST_DESCRIBE_STRUCT(end_publicity, (), (registration_id, application_id, publicity_end))

struct open_renewal_window {
    static constexpr std::string_view type_name = "OpenRenewalWindow";
    regledger::registration_id registration_id;
    calendar_date renewal_window_opens;
    friend bool operator==(const open_renewal_window&, const open_renewal_window&) = default;
};
BOOST_DESCRIBE_STRUCT(open_renewal_window, (), (registration_id, renewal_window_opens))

struct expire_validity {
    static constexpr std::string_view type_name = "ExpireValidity";
    regledger::registration_id registration_id;
    calendar_date valid_until;
    friend bool operator==(const expire_validity&, const expire_validity&) = default;
};
BOOST_DESCRIBE_STRUCT(expire_validity, (), (registration_id, valid_until))

using command = std::variant<open_account, verify_account, submit_application, request_supplement,
                             resubmit_materials, accept_application, reject_application, withdraw_application,
                             pass_review, fail_review, explain_review_delay, file_objection, uphold_objection,
                             dismiss_objection, revoke_registration, annul_revocation, mark_acceptance_overdue,
                             mark_review_overdue, end_publicity, open_renewal_window, expire_validity>;

inline std::string_view type_name_of(const command& c) noexcept {
    return std::visit([](const auto& v) { return std::decay_t<decltype(v)>::type_name; }, c);
}

// True for the scheduler's timeout commands, which no person may issue.
bool is_timeout_command(const command& c) noexcept;

// A command as the writer receives it.
struct command_envelope {
    regledger::command_id command_id;
    // When present, the command applies only if the target stream is at this
    // version (409 CONFLICT otherwise).
    std::optional<stream_version> expected_version;
    actor issued_by;
    // Ties the events of one business interaction together; the command id
    // when the client gives none.
    std::optional<regledger::correlation_id> correlation_id;
    regledger::command body;
};

}  // namespace regledger
