// Codes with a GB 32100 style MOD 31 check character (DOMAIN.md
// "Registration code"):
//  - registration codes (登记结果查询码) in the local scheme LN-LOCAL-1:
//      RRRRRR YYYY T NNNNNNN C  (19 characters, no spaces)
//  - unified social credit codes (统一社会信用代码, 18 characters).
// Alphabet 0123456789ABCDEFGHJKLMNPQRTUWXY (value = index); weights
// w_i = 3^(i-1) mod 31; C = alphabet[(31 - sum(v_i * w_i) mod 31) mod 31].
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "engine/vocabulary.h"

namespace regledger::rules {

inline constexpr std::string_view local_code_scheme = "LN-LOCAL-1";

// The check character for `body` (its characters must be in the alphabet);
// nullopt when a character is outside it or body is longer than 18.
std::optional<char> mod31_check_character(std::string_view body);

// REQUIRES: region_code is six digits, 1 <= year <= 9999,
// 1 <= sequence <= 9'999'999.
std::string make_registration_code(std::string_view region_code, int year, object_type type, std::uint32_t sequence);
bool is_valid_registration_code(std::string_view code);

bool is_valid_uscc(std::string_view uscc);

}  // namespace regledger::rules
