// Reference data compiled into the engine from the files beside this header:
// GB/T 4754-2017 industry divisions (gbt4754-2017-divisions.tsv) and
// GB/T 2260 codes of Liaoning (gbt2260-liaoning.tsv).
//
// The files are parsed once, on first use; the views returned point into
// static storage and stay valid for the life of the program.
//
// Thread-safety: immutable; share freely.
#pragma once

#include <optional>
#include <span>
#include <string_view>

namespace regledger::rules {

// A division (大类) of GB/T 4754-2017 and the section (门类) it belongs to.
struct industry_division {
    std::string_view code;  // two digits, "01".."97"
    char section;           // 'A'..'T'
    std::string_view name;
};

// All 97 divisions, in code order.
std::span<const industry_division> industry_divisions() noexcept;

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

// Every code of gbt2260-liaoning.tsv, in code order.
std::span<const region> liaoning_regions() noexcept;

// A code listed in gbt2260-liaoning.tsv.
std::optional<region> liaoning_region(std::string_view code) noexcept;

// What a record may name as coverage (DOMAIN.md): a Liaoning code from the
// file, any province-level code "XX0000" of GB/T 2260, or "000000" (national).
bool is_valid_coverage_region(std::string_view code) noexcept;

}  // namespace regledger::rules
