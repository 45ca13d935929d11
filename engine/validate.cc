#include "engine/validate.h"

#include <algorithm>
#include <cstdint>
#include <set>
#include <string>

#include <fmt/format.h>

#include "engine/rules/codes.h"
#include "engine/rules/reference_data.h"

namespace regledger {
namespace {

using field_path = std::string;

rejection invalid(const field_path& field, std::string message) {
    return reject(errc::validation, std::move(message), field);
}

std::string at(const field_path& base, std::string_view name) { return fmt::format("{}/{}", base, name); }
std::string at(const field_path& base, std::size_t index) { return fmt::format("{}/{}", base, index); }

// A required text of 1..max code points.
std::optional<rejection> check_text(const field_path& field, std::string_view text, std::size_t max) {
    const auto length = utf8_length(text);
    if (!length) return invalid(field, "must be valid UTF-8");
    if (*length == 0) return invalid(field, "must not be empty");
    if (*length > max) return invalid(field, fmt::format("must be at most {} characters", max));
    return std::nullopt;
}

// An optional text of at most max code points (may be empty).
std::optional<rejection> check_optional_text(const field_path& field, std::string_view text, std::size_t max) {
    const auto length = utf8_length(text);
    if (!length) return invalid(field, "must be valid UTF-8");
    if (*length > max) return invalid(field, fmt::format("must be at most {} characters", max));
    return std::nullopt;
}

std::optional<rejection> check_id(const field_path& field, std::string_view id) {
    if (!is_valid_client_id(id)) return invalid(field, "must match [A-Za-z0-9._-]{1,64}");
    return std::nullopt;
}

bool is_hex_digest(std::string_view s) {
    return s.size() == 64 && std::all_of(s.begin(), s.end(), [](char c) {
               return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
           });
}

std::optional<rejection> check_materials(const field_path& field, const std::vector<material>& materials,
                                         std::string_view what) {
    if (materials.empty()) return invalid(field, fmt::format("at least one {} is required", what));
    if (materials.size() > input_limits::materials_max) {
        return invalid(field, fmt::format("at most {} items", input_limits::materials_max));
    }
    for (std::size_t i = 0; i < materials.size(); ++i) {
        const auto item = at(field, i);
        if (auto r = check_text(at(item, "name"), materials[i].name, input_limits::name_chars_max)) return r;
        if (!is_hex_digest(materials[i].sha256)) {
            return invalid(at(item, "sha256"), "must be a SHA-256 digest: 64 lower-case hex digits");
        }
    }
    return std::nullopt;
}

std::optional<rejection> check_applicants(const std::vector<applicant>& applicants) {
    const field_path field = "/applicants";
    if (applicants.empty()) return invalid(field, "at least one applicant is required");
    if (applicants.size() > input_limits::applicants_max) {
        return invalid(field, fmt::format("at most {} applicants", input_limits::applicants_max));
    }
    std::set<std::string> seen;
    std::size_t leads = 0;
    for (std::size_t i = 0; i < applicants.size(); ++i) {
        const auto item = at(field, i);
        if (auto r = check_text(at(item, "name"), applicants[i].name, input_limits::name_chars_max)) return r;
        if (!rules::is_valid_uscc(applicants[i].uscc)) {
            return invalid(at(item, "uscc"), "not a valid unified social credit code (统一社会信用代码)");
        }
        if (!seen.insert(applicants[i].uscc).second) return invalid(at(item, "uscc"), "applicant listed twice");
        if (applicants[i].role == applicant_role::lead) ++leads;
    }
    if (leads != 1) return invalid(field, "exactly one applicant must be the lead (第10条)");
    return std::nullopt;
}

std::optional<rejection> check_record(const registration_record& r) {
    const field_path field = "/record";
    if (auto e = check_text(at(field, "data_name"), r.data_name, input_limits::name_chars_max)) return e;
    if (auto e = check_text(at(field, "summary"), r.summary, input_limits::summary_chars_max)) return e;

    const auto codes = at(field, "industry_codes");
    if (r.industry_codes.empty()) return invalid(codes, "at least one GB/T 4754-2017 division is required (第15条)");
    if (r.industry_codes.size() > input_limits::industry_codes_max) return invalid(codes, "too many divisions");
    for (std::size_t i = 0; i < r.industry_codes.size(); ++i) {
        if (!rules::is_industry_division(r.industry_codes[i])) {
            return invalid(at(codes, i), "not a GB/T 4754-2017 division (two digits, 01-97)");
        }
        if (std::find(r.industry_codes.begin(), r.industry_codes.begin() + static_cast<std::ptrdiff_t>(i),
                      r.industry_codes[i]) != r.industry_codes.begin() + static_cast<std::ptrdiff_t>(i)) {
            return invalid(at(codes, i), "division listed twice");
        }
    }

    const auto regions = at(field, "coverage_regions");
    if (r.coverage_regions.empty()) return invalid(regions, "at least one coverage region is required (第15条)");
    if (r.coverage_regions.size() > input_limits::coverage_regions_max) return invalid(regions, "too many regions");
    for (std::size_t i = 0; i < r.coverage_regions.size(); ++i) {
        if (!rules::is_valid_coverage_region(r.coverage_regions[i])) {
            return invalid(at(regions, i), "not a GB/T 2260 code of Liaoning, a province code, or 000000");
        }
        if (std::find(r.coverage_regions.begin(), r.coverage_regions.begin() + static_cast<std::ptrdiff_t>(i),
                      r.coverage_regions[i]) != r.coverage_regions.begin() + static_cast<std::ptrdiff_t>(i)) {
            return invalid(at(regions, i), "region listed twice");
        }
    }

    if (r.coverage_time && r.coverage_time->end < r.coverage_time->start) {
        return invalid(at(at(field, "coverage_time"), "end"), "must not be before start");
    }
    if (r.update_frequency) {
        if (auto e = check_text(at(field, "update_frequency"), *r.update_frequency, input_limits::short_text_chars_max))
            return e;
    }
    if (r.data_scale) {
        if (auto e = check_text(at(field, "data_scale"), *r.data_scale, input_limits::short_text_chars_max)) return e;
    }
    if (r.security_level) {
        if (auto e = check_text(at(field, "security_level"), *r.security_level, input_limits::short_text_chars_max))
            return e;
    }

    if (r.object_type == object_type::resource) {
        if (r.product_form) return invalid(at(field, "product_form"), "only a product names its form");
        if (r.authorization) return invalid(at(field, "authorization"), "only a product is operated under authorization");
    } else {
        if (!r.product_form) return invalid(at(field, "product_form"), "a product must name its form");
        if (r.access_method == access_method::authorized_operation && !r.authorization) {
            return invalid(at(field, "authorization"),
                           "a product under authorized operation names its agreement and operating period");
        }
    }
    if (r.authorization) {
        const auto a = at(field, "authorization");
        if (auto e = check_text(at(a, "agreement_ref"), r.authorization->agreement_ref, input_limits::name_chars_max))
            return e;
        if (r.authorization->operation_end < r.authorization->operation_start) {
            return invalid(at(a, "operation_end"), "must not be before operation_start");
        }
    }
    return std::nullopt;
}

bool needs_record(application_kind kind) {
    return kind == application_kind::initial || kind == application_kind::change ||
           kind == application_kind::correction;
}

std::optional<rejection> check_reason(std::string_view reason, std::string_view name = "reason") {
    return check_text(fmt::format("/{}", name), reason, input_limits::text_chars_max);
}

struct validator {
    std::optional<rejection> operator()(const open_account& c) const {
        if (auto r = check_id("/account_id", c.account_id.value())) return r;
        if (auto r = check_text("/name", c.name, input_limits::name_chars_max)) return r;
        if (!rules::is_valid_uscc(c.uscc)) return invalid("/uscc", "not a valid unified social credit code (统一社会信用代码)");
        if (!rules::is_valid_coverage_region(c.region_code) || c.region_code == "000000") {
            return invalid("/region_code", "not a GB/T 2260 code of Liaoning or a province code");
        }
        return std::nullopt;
    }
    std::optional<rejection> operator()(const verify_account& c) const { return check_id("/account_id", c.account_id.value()); }
    std::optional<rejection> operator()(const submit_application& c) const {
        if (auto r = check_id("/application_id", c.application_id.value())) return r;
        if (auto r = check_id("/registration_id", c.registration_id.value())) return r;
        if (auto r = check_id("/institution_id", c.institution_id.value())) return r;
        if (auto r = check_applicants(c.applicants)) return r;
        if (needs_record(c.kind)) {
            if (!c.record) return invalid("/record", "this kind of application describes the record");
            if (auto r = check_record(*c.record)) return r;
        } else if (c.record) {
            return invalid("/record", "a deregistration or renewal application carries no record");
        }
        return check_materials("/materials", c.materials, "material");
    }
    std::optional<rejection> operator()(const request_supplement& c) const {
        if (auto r = check_id("/application_id", c.application_id.value())) return r;
        if (c.items.empty()) return invalid("/items", "name at least one missing item (一次性告知, 第16条)");
        if (c.items.size() > input_limits::supplement_items_max) return invalid("/items", "too many items");
        for (std::size_t i = 0; i < c.items.size(); ++i) {
            if (auto r = check_text(at("/items", i), c.items[i], input_limits::text_chars_max)) return r;
        }
        return check_optional_text("/note", c.note, input_limits::text_chars_max);
    }
    std::optional<rejection> operator()(const resubmit_materials& c) const {
        if (auto r = check_id("/application_id", c.application_id.value())) return r;
        if (c.record) {
            if (auto r = check_record(*c.record)) return r;
        }
        return check_materials("/materials", c.materials, "material");
    }
    std::optional<rejection> operator()(const accept_application& c) const {
        return check_id("/application_id", c.application_id.value());
    }
    std::optional<rejection> operator()(const reject_application& c) const {
        if (auto r = check_id("/application_id", c.application_id.value())) return r;
        return check_reason(c.reason);
    }
    std::optional<rejection> operator()(const withdraw_application& c) const {
        return check_id("/application_id", c.application_id.value());
    }
    std::optional<rejection> operator()(const pass_review& c) const {
        return check_id("/application_id", c.application_id.value());
    }
    std::optional<rejection> operator()(const fail_review& c) const {
        if (auto r = check_id("/application_id", c.application_id.value())) return r;
        return check_reason(c.reason);
    }
    std::optional<rejection> operator()(const explain_review_delay& c) const {
        if (auto r = check_id("/application_id", c.application_id.value())) return r;
        return check_reason(c.reason);
    }
    std::optional<rejection> operator()(const file_objection& c) const {
        if (auto r = check_id("/application_id", c.application_id.value())) return r;
        if (auto r = check_id("/objection_id", c.objection_id.value())) return r;
        if (auto r = check_text("/objector/name", c.objector.name, input_limits::name_chars_max)) return r;
        if (!rules::is_valid_uscc(c.objector.id_number) && !is_valid_resident_id(c.objector.id_number)) {
            return invalid("/objector/id_number",
                           "a real-name objection needs a valid credit code or resident ID number (第19条)");
        }
        if (auto r = check_reason(c.grounds, "grounds")) return r;
        return check_materials("/evidence", c.evidence, "evidence item (第19条)");
    }
    std::optional<rejection> operator()(const uphold_objection& c) const {
        if (auto r = check_id("/application_id", c.application_id.value())) return r;
        if (auto r = check_id("/objection_id", c.objection_id.value())) return r;
        return check_reason(c.reason);
    }
    std::optional<rejection> operator()(const dismiss_objection& c) const {
        if (auto r = check_id("/application_id", c.application_id.value())) return r;
        if (auto r = check_id("/objection_id", c.objection_id.value())) return r;
        return check_reason(c.reason);
    }
    std::optional<rejection> operator()(const revoke_registration& c) const {
        if (auto r = check_id("/registration_id", c.registration_id.value())) return r;
        return check_reason(c.announcement, "announcement");
    }
    std::optional<rejection> operator()(const annul_revocation& c) const {
        if (auto r = check_id("/registration_id", c.registration_id.value())) return r;
        return check_reason(c.reason);
    }
    std::optional<rejection> operator()(const mark_acceptance_overdue&) const { return std::nullopt; }
    std::optional<rejection> operator()(const mark_review_overdue&) const { return std::nullopt; }
    std::optional<rejection> operator()(const end_publicity&) const { return std::nullopt; }
    std::optional<rejection> operator()(const open_renewal_window&) const { return std::nullopt; }
    std::optional<rejection> operator()(const expire_validity&) const { return std::nullopt; }
};

}  // namespace

bool is_valid_client_id(std::string_view id) noexcept {
    return !id.empty() && id.size() <= input_limits::id_chars_max &&
           std::all_of(id.begin(), id.end(), [](char c) {
               return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
                      c == '_' || c == '-';
           });
}

bool is_valid_resident_id(std::string_view id) noexcept {
    if (id.size() != 18) return false;
    int sum = 0;
    for (std::size_t i = 0; i < 17; ++i) {
        if (id[i] < '0' || id[i] > '9') return false;
        const int weight = (1 << (17 - i)) % 11;
        sum += (id[i] - '0') * weight;
    }
    static constexpr char check[] = "10X98765432";
    return id[17] == check[sum % 11];
}

std::optional<std::size_t> utf8_length(std::string_view text) noexcept {
    std::size_t count = 0;
    std::size_t i = 0;
    while (i < text.size()) {
        const auto c = static_cast<unsigned char>(text[i]);
        std::size_t extra = 0;
        std::uint32_t cp = 0;
        if (c < 0x80) {
            cp = c;
        } else if ((c & 0xE0) == 0xC0) {
            extra = 1;
            cp = c & 0x1F;
        } else if ((c & 0xF0) == 0xE0) {
            extra = 2;
            cp = c & 0x0F;
        } else if ((c & 0xF8) == 0xF0) {
            extra = 3;
            cp = c & 0x07;
        } else {
            return std::nullopt;
        }
        if (extra > 0 && i + extra >= text.size()) return std::nullopt;
        for (std::size_t k = 1; k <= extra; ++k) {
            const auto cc = static_cast<unsigned char>(text[i + k]);
            if ((cc & 0xC0) != 0x80) return std::nullopt;
            cp = (cp << 6) | (cc & 0x3F);
        }
        // Overlong forms, surrogates and values past U+10FFFF are not UTF-8.
        static constexpr std::uint32_t min_for_length[] = {0, 0x80, 0x800, 0x10000};
        if (cp < min_for_length[extra] || (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF) return std::nullopt;
        i += extra + 1;
        ++count;
    }
    return count;
}

std::optional<rejection> validate(const command& c) { return std::visit(validator{}, c); }

std::optional<rejection> validate_command_id(const command_id& id) {
    if (!is_valid_client_id(id.value())) return invalid("/command_id", "must match [A-Za-z0-9._-]{1,64}");
    return std::nullopt;
}

}  // namespace regledger
