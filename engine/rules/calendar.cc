#include "engine/rules/calendar.h"

#include <cassert>
#include <cstddef>
#include <utility>

#include <fmt/format.h>

#include "engine/rules/embedded_data.h"
#include "engine/sha256.h"

namespace regledger::rules {
namespace {

constexpr std::string_view covered_years_prefix = "# Covered years:";

rejection line_error(std::size_t line_number, std::string_view what) {
    return reject(errc::malformed, fmt::format("calendar line {}: {}", line_number, what));
}

bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }

// The years of a "# Covered years: 2025 2026. Free text" comment, or nullopt
// when what follows the prefix is not a list of four-digit years.
std::optional<std::set<int>> parse_covered_years(std::string_view text) {
    std::set<int> years;
    std::size_t i = 0;
    while (i < text.size()) {
        const char c = text[i];
        if (c == ' ' || c == '\t' || c == ',') {
            ++i;
            continue;
        }
        if (c == '.') break;  // the rest of the line is prose
        std::size_t end = i;
        while (end < text.size() && is_digit(text[end])) ++end;
        if (end - i != 4) return std::nullopt;
        if (end < text.size() && text[end] != ' ' && text[end] != '\t' && text[end] != ',' && text[end] != '.') {
            return std::nullopt;
        }
        int year = 0;
        for (std::size_t k = i; k < end; ++k) year = year * 10 + (text[k] - '0');
        if (year == 0) return std::nullopt;
        years.insert(year);
        i = end;
    }
    if (years.empty()) return std::nullopt;
    return years;
}

bool is_weekend(calendar_date d) noexcept { return d.iso_weekday() >= 6; }

}  // namespace

const working_calendar& working_calendar::builtin() {
    static const working_calendar calendar = [] {
        auto parsed = parse(embedded::cn_holidays_tsv());
        // The file is part of the build; the calendar tests parse it too.
        assert(parsed.has_value());
        return std::move(parsed).value();
    }();
    return calendar;
}

result<working_calendar, rejection> working_calendar::parse(std::string_view tsv) {
    working_calendar calendar;
    calendar.version_ = digest(sha256::of(tsv));

    std::optional<std::size_t> covered_years_line;
    std::map<calendar_date, std::size_t> listed_on_line;

    std::size_t line_number = 0;
    std::size_t pos = 0;
    while (pos < tsv.size()) {
        ++line_number;
        const std::size_t newline = tsv.find('\n', pos);
        const std::size_t end = newline == std::string_view::npos ? tsv.size() : newline;
        std::string_view line = tsv.substr(pos, end - pos);
        pos = newline == std::string_view::npos ? tsv.size() : newline + 1;
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);

        if (line.empty()) continue;
        if (line.front() == '#') {
            if (!line.starts_with(covered_years_prefix)) continue;
            if (covered_years_line) {
                return line_error(line_number, fmt::format("a second covered-years line (the first is line {})",
                                                           *covered_years_line));
            }
            auto years = parse_covered_years(line.substr(covered_years_prefix.size()));
            if (!years) return line_error(line_number, "covered years must be four-digit years, e.g. \"2025 2026\"");
            calendar.covered_years_ = std::move(*years);
            covered_years_line = line_number;
            continue;
        }

        const std::size_t tab1 = line.find('\t');
        const std::size_t tab2 = tab1 == std::string_view::npos ? tab1 : line.find('\t', tab1 + 1);
        if (tab2 == std::string_view::npos || line.find('\t', tab2 + 1) != std::string_view::npos) {
            return line_error(line_number, "expected three tab-separated fields: date, off|work, festival");
        }
        const std::string_view date_text = line.substr(0, tab1);
        const std::string_view kind = line.substr(tab1 + 1, tab2 - tab1 - 1);
        const std::string_view festival = line.substr(tab2 + 1);

        const auto date = calendar_date::parse(date_text);
        if (!date) return line_error(line_number, fmt::format("\"{}\" is not a date YYYY-MM-DD", date_text));
        if (kind != "off" && kind != "work") {
            return line_error(line_number, fmt::format("\"{}\" is neither off nor work", kind));
        }
        const bool working = kind == "work";
        if (working && !is_weekend(*date)) {
            return line_error(line_number, fmt::format("{} is a weekday; a make-up working day falls on a weekend",
                                                       date->to_string()));
        }
        if (festival.empty()) return line_error(line_number, "the festival is missing");
        if (const auto [it, inserted] = listed_on_line.emplace(*date, line_number); !inserted) {
            return line_error(line_number, fmt::format("{} is already listed on line {}", date->to_string(), it->second));
        }
        calendar.exceptions_.emplace(*date, working);
    }

    if (!covered_years_line) {
        return reject(errc::malformed, fmt::format("calendar: no \"{}\" line", covered_years_prefix));
    }
    for (const auto& [date, line] : listed_on_line) {
        if (!calendar.covers(date.year())) {
            return line_error(line, fmt::format("{} is outside the covered years", date.to_string()));
        }
    }
    return calendar;
}

bool working_calendar::is_working_day(calendar_date d) const noexcept {
    if (const auto it = exceptions_.find(d); it != exceptions_.end()) return it->second;
    return !is_weekend(d);
}

calendar_result working_calendar::add_working_days(calendar_date d, int n) const {
    assert(n >= 1);
    calendar_result answer{d, false};
    for (int remaining = n; remaining > 0;) {
        answer.date = answer.date.plus_days(1);
        if (!covers(answer.date.year())) answer.provisional = true;
        if (is_working_day(answer.date)) --remaining;
    }
    return answer;
}

instant deadline_instant(calendar_date last_day) noexcept { return instant::start_of_day(last_day.plus_days(1)); }

}  // namespace regledger::rules
