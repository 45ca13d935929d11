// Stateless validation of what a person submits (DOMAIN.md "Validation").
//
// Every failure is a `rejection` with code VALIDATION and `field`, a JSON
// pointer into the command as API.md spells it ("/record/industry_codes/0",
// "/applicants/1/uscc"). Checks that need the stream's state (does the
// registration exist, is the renewal window open) are decide()'s.
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

#include "engine/commands.h"
#include "engine/result.h"

namespace regledger {

// Input limits: nothing a person sends is unbounded.
struct input_limits {
    static constexpr std::size_t id_chars_max = 64;
    static constexpr std::size_t name_chars_max = 200;
    static constexpr std::size_t summary_chars_max = 2000;
    static constexpr std::size_t text_chars_max = 2000;
    static constexpr std::size_t short_text_chars_max = 200;
    static constexpr std::size_t applicants_max = 20;
    static constexpr std::size_t materials_max = 100;
    static constexpr std::size_t industry_codes_max = 97;
    static constexpr std::size_t coverage_regions_max = 200;
    static constexpr std::size_t supplement_items_max = 50;
};

// [A-Za-z0-9._-]{1,64} (API.md).
bool is_valid_client_id(std::string_view id) noexcept;
// Resident identity card number (GB 11643): 17 digits and an ISO 7064
// MOD 11-2 check character (0-9 or X).
bool is_valid_resident_id(std::string_view id) noexcept;
// The number of Unicode code points, or nullopt when `text` is not UTF-8.
std::optional<std::size_t> utf8_length(std::string_view text) noexcept;

// Checks the command's own fields. Timeout commands carry only what the
// scheduler derived from events and always pass.
std::optional<rejection> validate(const command& c);
// The command id of the envelope (the body's ids are checked by validate).
std::optional<rejection> validate_command_id(const command_id& id);

}  // namespace regledger
