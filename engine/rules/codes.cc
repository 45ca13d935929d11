#include "engine/rules/codes.h"

#include <array>
#include <cassert>
#include <cstddef>

#include <fmt/format.h>

namespace regledger::rules {
namespace {

constexpr std::string_view alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY";
constexpr int modulus = 31;
static_assert(alphabet.size() == modulus);

constexpr std::size_t body_length_max = 18;
constexpr std::size_t uscc_length = 18;
constexpr std::size_t registration_code_length = 19;

// w_i = 3^(i-1) mod 31.
constexpr std::array<int, body_length_max> weights = [] {
    std::array<int, body_length_max> w{};
    int power = 1;
    for (auto& weight : w) {
        weight = power;
        power = power * 3 % modulus;
    }
    return w;
}();
static_assert(weights[0] == 1 && weights[3] == 27 && weights[17] == 22);

bool all_digits(std::string_view text) noexcept {
    for (const char c : text) {
        if (c < '0' || c > '9') return false;
    }
    return !text.empty();
}

bool all_zeros(std::string_view text) noexcept { return text.find_first_not_of('0') == std::string_view::npos; }

}  // namespace

std::optional<char> mod31_check_character(std::string_view body) noexcept {
    if (body.size() > body_length_max) return std::nullopt;
    int sum = 0;
    for (std::size_t i = 0; i < body.size(); ++i) {
        const std::size_t value = alphabet.find(body[i]);
        if (value == std::string_view::npos) return std::nullopt;
        sum = (sum + static_cast<int>(value) * weights[i]) % modulus;
    }
    return alphabet[static_cast<std::size_t>((modulus - sum) % modulus)];
}

std::string make_registration_code(std::string_view region_code, int year, object_type type, std::uint32_t sequence) {
    assert(region_code.size() == 6 && all_digits(region_code));
    assert(year >= 1 && year <= 9999);
    assert(sequence >= 1 && sequence <= 9'999'999);
    std::string code =
        fmt::format("{}{:04}{}{:07}", region_code, year, type == object_type::resource ? '1' : '2', sequence);
    const auto check = mod31_check_character(code);
    assert(check.has_value());
    code.push_back(*check);
    return code;
}

bool is_valid_registration_code(std::string_view code) noexcept {
    if (code.size() != registration_code_length) return false;
    const std::string_view region = code.substr(0, 6);
    const std::string_view year = code.substr(6, 4);
    const char type = code[10];
    const std::string_view sequence = code.substr(11, 7);
    if (!all_digits(region) || !all_digits(year) || all_zeros(year)) return false;
    if (type != '1' && type != '2') return false;
    if (!all_digits(sequence) || all_zeros(sequence)) return false;
    return mod31_check_character(code.substr(0, registration_code_length - 1)) == code.back();
}

bool is_valid_uscc(std::string_view uscc) noexcept {
    if (uscc.size() != uscc_length) return false;
    return mod31_check_character(uscc.substr(0, uscc_length - 1)) == uscc.back();
}

}  // namespace regledger::rules
