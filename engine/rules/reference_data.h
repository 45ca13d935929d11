// Reference data compiled into the engine from the files beside this header:
// GB/T 4754-2017 industry divisions (gbt4754-2017-divisions.tsv) and
// GB/T 2260 codes of Liaoning (gbt2260-liaoning.tsv).
//
// Thread-safety: immutable; share freely.
#pragma once

#include <optional>
#include <string_view>

namespace regledger::rules {

// A two-digit GB/T 4754-2017 division ("01".."97" as listed).
bool is_industry_division(std::string_view code) noexcept;
std::optional<std::string_view> industry_division_name(std::string_view code) noexcept;

enum class region_level { province, city, county };

struct region {
    std::string_view code;
    region_level level;
    std::string_view name;
    std::string_view parent;  // empty for the province
};

// A code listed in gbt2260-liaoning.tsv.
std::optional<region> liaoning_region(std::string_view code) noexcept;

// What a record may name as coverage (DOMAIN.md): a Liaoning code from the
// file, any province-level code "XX0000" of GB/T 2260, or "000000" (national).
bool is_valid_coverage_region(std::string_view code) noexcept;

}  // namespace regledger::rules
