// Codes with a GB 32100 style MOD 31 check character (DOMAIN.md
// "Registration code"):
//  - registration codes (登记结果查询码) in the local scheme LN-LOCAL-1:
//      RRRRRR YYYY T NNNNNNN C  (19 characters, no spaces)
//  - unified social credit codes (统一社会信用代码, 18 characters).
// Alphabet 0123456789ABCDEFGHJKLMNPQRTUWXY (value = index); weights
// w_i = 3^(i-1) mod 31; C = alphabet[(31 - sum(v_i * w_i) mod 31) mod 31].
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "engine/vocabulary.h"

namespace regledger::rules {

inline constexpr std::string_view local_code_scheme = "LN-LOCAL-1";

// The check character for `body` (its characters must be in the alphabet;
// lower case is not); nullopt when a character is outside it or body is
// longer than 18.
std::optional<char> mod31_check_character(std::string_view body) noexcept;

// A LN-LOCAL-1 code: region_code, the year in four digits, 1 (resource) or
// 2 (product), the sequence in seven digits, and the check character.
// REQUIRES: region_code is six digits, 1 <= year <= 9999,
// 1 <= sequence <= 9'999'999.
std::string make_registration_code(std::string_view region_code, int year, object_type type, std::uint32_t sequence);
// Whether `code` has the LN-LOCAL-1 form: 19 characters, six digits, a year
// 0001-9999, 1 or 2, a sequence 0000001-9999999, and the right check
// character. The region is checked for form only: which institutions exist
// is configuration, not a property of the code.
bool is_valid_registration_code(std::string_view code) noexcept;

// Whether `uscc` is a unified social credit code by its check character:
// 18 characters of the alphabet, the last one the check over the first 17.
bool is_valid_uscc(std::string_view uscc) noexcept;

}  // namespace regledger::rules
