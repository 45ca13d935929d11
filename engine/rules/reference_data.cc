#include "engine/rules/reference_data.h"

#include <algorithm>
#include <array>
#include <cassert>
#include <vector>

#include "engine/rules/embedded_data.h"

namespace regledger::rules {
namespace {

// The 34 province-level divisions of GB/T 2260 (省、自治区、直辖市、特别行政区),
// by their first two digits.
constexpr std::array<std::string_view, 34> province_prefixes = {
    "11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37", "41", "42",
    "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64", "65", "71", "81", "82",
};

constexpr std::string_view national_region = "000000";

bool all_digits(std::string_view text) noexcept {
    return std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// The data lines of a compiled-in TSV file, split into fields. Comment lines
// ('#') and blank lines are skipped.
template <std::size_t field_count, typename on_row>
void for_each_row(std::string_view tsv, on_row&& row) {
    while (!tsv.empty()) {
        const std::size_t newline = tsv.find('\n');
        const std::string_view line = tsv.substr(0, newline);
        tsv.remove_prefix(newline == std::string_view::npos ? tsv.size() : newline + 1);
        if (line.empty() || line.front() == '#') continue;

        std::array<std::string_view, field_count> fields;
        std::string_view rest = line;
        for (std::size_t i = 0; i < field_count; ++i) {
            const std::size_t tab = rest.find('\t');
            // The last field runs to the end of the line; others end at a tab.
            assert((tab == std::string_view::npos) == (i + 1 == field_count));
            fields[i] = rest.substr(0, tab);
            rest.remove_prefix(tab == std::string_view::npos ? rest.size() : tab + 1);
        }
        row(fields);
    }
}

// The data files ship with the build and their tests check them, so a
// malformed row is a programmer error.
std::vector<industry_division> load_divisions() {
    std::vector<industry_division> divisions;
    for_each_row<3>(embedded::gbt4754_2017_divisions_tsv(), [&](const auto& f) {
        assert(f[0].size() == 2 && all_digits(f[0]));
        assert(f[1].size() == 1 && f[1][0] >= 'A' && f[1][0] <= 'Z');
        assert(!f[2].empty());
        assert(divisions.empty() || divisions.back().code < f[0]);
        divisions.push_back({f[0], f[1][0], f[2]});
    });
    return divisions;
}

std::vector<region> load_regions() {
    std::vector<region> regions;
    for_each_row<4>(embedded::gbt2260_liaoning_tsv(), [&](const auto& f) {
        assert(f[0].size() == 6 && all_digits(f[0]));
        region_level level = region_level::county;
        if (f[1] == "province") {
            level = region_level::province;
        } else if (f[1] == "city") {
            level = region_level::city;
        } else {
            assert(f[1] == "county");
        }
        assert(!f[2].empty());
        assert(f[3].empty() == (level == region_level::province));
        assert(regions.empty() || regions.back().code < f[0]);
        regions.push_back({f[0], level, f[2], f[3]});
    });
    return regions;
}

const std::vector<industry_division>& divisions() {
    static const std::vector<industry_division> table = load_divisions();
    return table;
}

const std::vector<region>& regions() {
    static const std::vector<region> table = load_regions();
    return table;
}

// Binary search in a table sorted by code.
template <typename row>
const row* find_code(const std::vector<row>& table, std::string_view code) noexcept {
    const auto it = std::lower_bound(table.begin(), table.end(), code,
                                     [](const row& r, std::string_view c) { return r.code < c; });
    return it != table.end() && it->code == code ? &*it : nullptr;
}

}  // namespace

std::span<const industry_division> industry_divisions() noexcept { return divisions(); }

bool is_industry_division(std::string_view code) noexcept { return find_code(divisions(), code) != nullptr; }

std::optional<std::string_view> industry_division_name(std::string_view code) noexcept {
    if (const industry_division* d = find_code(divisions(), code)) return d->name;
    return std::nullopt;
}

std::span<const region> liaoning_regions() noexcept { return regions(); }

std::optional<region> liaoning_region(std::string_view code) noexcept {
    if (const region* r = find_code(regions(), code)) return *r;
    return std::nullopt;
}

bool is_valid_coverage_region(std::string_view code) noexcept {
    if (code.size() != 6 || !all_digits(code)) return false;
    if (code == national_region) return true;
    if (code.substr(2) == "0000" &&
        std::find(province_prefixes.begin(), province_prefixes.end(), code.substr(0, 2)) != province_prefixes.end()) {
        return true;
    }
    return liaoning_region(code).has_value();
}

}  // namespace regledger::rules
