// Value types shared by commands and events: roles, kinds, statuses, and the
// parts of a registration record (DOMAIN.md, API.md).
//
// Every struct and enum is described with Boost.Describe, which gives the
// layers outside the engine one generic way to walk fields (the canonical hash
// encoding, JSON) without a hand-written list per type. The JSON names are the
// member names; enum strings are the enumerator names.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <boost/describe/class.hpp>
#include <boost/describe/enum.hpp>

#include "engine/ids.h"
#include "engine/time.h"

namespace regledger {

// Who acts. `system` is the deadline scheduler (timeout commands).
enum class role : std::uint8_t { subject, clerk, auditor, supervisor, public_, system };
BOOST_DESCRIBE_ENUM(role, subject, clerk, auditor, supervisor, public_, system)

enum class subject_type : std::uint8_t {
    party_government,
    public_institution,
    public_utility,
    authorized_operator,
    other,
};
BOOST_DESCRIBE_ENUM(subject_type, party_government, public_institution, public_utility, authorized_operator, other)

enum class application_kind : std::uint8_t { initial, change, correction, deregistration, renewal };
BOOST_DESCRIBE_ENUM(application_kind, initial, change, correction, deregistration, renewal)

enum class applicant_role : std::uint8_t { lead, joint };
BOOST_DESCRIBE_ENUM(applicant_role, lead, joint)

enum class object_type : std::uint8_t { resource, product };
BOOST_DESCRIBE_ENUM(object_type, resource, product)

enum class product_form : std::uint8_t { dataset, api, application, report, digital_object, other };
BOOST_DESCRIBE_ENUM(product_form, dataset, api, application, report, digital_object, other)

enum class access_method : std::uint8_t { open, authorized_operation, apply };
BOOST_DESCRIBE_ENUM(access_method, open, authorized_operation, apply)

enum class revocation_grounds : std::uint8_t { false_materials, tampering, improper_gain, other };
BOOST_DESCRIBE_ENUM(revocation_grounds, false_materials, tampering, improper_gain, other)

enum class deregistration_reason : std::uint8_t { voluntary, expired };
BOOST_DESCRIBE_ENUM(deregistration_reason, voluntary, expired)

enum class registration_status : std::uint8_t { pending, valid, deregistered, revoked, not_registered };
BOOST_DESCRIBE_ENUM(registration_status, pending, valid, deregistered, revoked, not_registered)

enum class application_status : std::uint8_t {
    submitted,
    supplement_requested,
    accepted,
    in_publicity,
    completed,
    rejected,
    withdrawn,
    review_failed,
    terminated,
};
BOOST_DESCRIBE_ENUM(application_status, submitted, supplement_requested, accepted, in_publicity, completed, rejected,
                    withdrawn, review_failed, terminated)

enum class institution_level : std::uint8_t { provincial, municipal };
BOOST_DESCRIBE_ENUM(institution_level, provincial, municipal)

// Who did something: recorded in every event envelope.
struct actor {
    account_id account;
    regledger::role role = regledger::role::public_;
    std::optional<institution_id> institution;

    friend bool operator==(const actor&, const actor&) = default;
};
BOOST_DESCRIBE_STRUCT(actor, (), (account, role, institution))

// One subject of a (possibly joint) application (第10条).
struct applicant {
    std::string name;
    // 统一社会信用代码, 18 characters (GB 32100).
    std::string uscc;
    applicant_role role = applicant_role::lead;

    friend bool operator==(const applicant&, const applicant&) = default;
};
BOOST_DESCRIBE_STRUCT(applicant, (), (name, uscc, role))

// A file the subject keeps (存证, 第10条); the ledger keeps only its hash.
struct material {
    std::string name;
    // 64 lower-case hex digits.
    std::string sha256;

    friend bool operator==(const material&, const material&) = default;
};
BOOST_DESCRIBE_STRUCT(material, (), (name, sha256))

struct date_range {
    calendar_date start;
    calendar_date end;

    friend bool operator==(const date_range&, const date_range&) = default;
};
BOOST_DESCRIBE_STRUCT(date_range, (), (start, end))

// A product operated under an authorization agreement (第13条).
struct authorization {
    std::string agreement_ref;
    calendar_date operation_start;
    calendar_date operation_end;

    friend bool operator==(const authorization&, const authorization&) = default;
};
BOOST_DESCRIBE_STRUCT(authorization, (), (agreement_ref, operation_start, operation_end))

// What is registered: a resource or a product (第15条).
struct registration_record {
    regledger::object_type object_type = regledger::object_type::resource;
    std::string data_name;
    std::string summary;
    // GB/T 4754-2017 divisions, two digits each.
    std::vector<std::string> industry_codes;
    // GB/T 2260 codes, six digits each ("000000" = national).
    std::vector<std::string> coverage_regions;
    std::optional<date_range> coverage_time;
    std::optional<std::string> update_frequency;
    std::optional<std::string> data_scale;
    std::optional<std::string> security_level;
    std::optional<regledger::access_method> access_method;
    std::optional<regledger::product_form> product_form;
    std::optional<regledger::authorization> authorization;

    friend bool operator==(const registration_record&, const registration_record&) = default;
};
BOOST_DESCRIBE_STRUCT(registration_record, (),
                      (object_type, data_name, summary, industry_codes, coverage_regions, coverage_time, update_frequency,
                       data_scale, security_level, access_method, product_form, authorization))

// The person filing an objection, by real name (第19条).
struct objector {
    std::string name;
    // Unified social credit code or resident ID number.
    std::string id_number;

    friend bool operator==(const objector&, const objector&) = default;
};
BOOST_DESCRIBE_STRUCT(objector, (), (name, id_number))

}  // namespace regledger
