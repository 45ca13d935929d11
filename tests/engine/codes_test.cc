// Codes with a MOD 31 check character: DOMAIN.md "Registration code"
// (登记结果查询码, 第13、20条) and the applicants' unified social credit codes
// (统一社会信用代码, GB 32100, 第10条).
#include <doctest/doctest.h>

#include <array>
#include <string>

#include "engine/rules/codes.h"
#include "engine/rules/rule_set.h"

using namespace regledger;
using namespace regledger::rules;

namespace {

constexpr std::string_view alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY";
// DOMAIN.md lists them: w_i = 3^(i-1) mod 31.
constexpr std::array<int, 18> weights = {1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28, 22};

// Every code obtained from `code` by replacing one character with another
// character of the alphabet.
template <typename visit>
void for_each_single_substitution(const std::string& code, visit&& v) {
    for (std::size_t i = 0; i < code.size(); ++i) {
        for (const char c : alphabet) {
            if (c == code[i]) continue;
            std::string changed = code;
            changed[i] = c;
            v(changed, i);
        }
    }
}

// `body` followed by its correct check character.
std::string with_check(const std::string& body) {
    const auto check = mod31_check_character(body);
    REQUIRE(check);
    return body + *check;
}

}  // namespace

TEST_CASE("DOMAIN.md Registration code: the check character is MOD 31 with weights 3^(i-1) mod 31") {
    SUBCASE("a single 1 at position i gives alphabet[(31 - w_i) mod 31]") {
        for (std::size_t i = 0; i < weights.size(); ++i) {
            std::string body(i + 1, '0');
            body[i] = '1';
            CAPTURE(i);
            CHECK(mod31_check_character(body) == alphabet[static_cast<std::size_t>((31 - weights[i]) % 31)]);
        }
    }
    SUBCASE("each character is worth its index in the alphabet") {
        for (std::size_t v = 0; v < alphabet.size(); ++v) {
            CAPTURE(alphabet[v]);
            CHECK(mod31_check_character(std::string(1, alphabet[v])) == alphabet[(31 - v) % 31]);
        }
    }
    SUBCASE("a sum divisible by 31 gives 0; the empty body too") {
        CHECK(mod31_check_character("") == '0');
        CHECK(mod31_check_character("000000000000000000") == '0');
    }
    SUBCASE("characters outside the alphabet, lower case and bodies over 18 characters have no check character") {
        for (const char c : std::string_view("IOSVZ ioz-")) {
            CAPTURE(c);
            CHECK(mod31_check_character(std::string("9135010") + c) == std::nullopt);
        }
        CHECK(mod31_check_character(std::string(18, '1')).has_value());
        CHECK(mod31_check_character(std::string(19, '1')) == std::nullopt);
    }
}

TEST_CASE("第10条: an applicant's unified social credit code has a valid GB 32100 check character") {
    const std::array<std::string, 2> valid = {"91350100M000100Y43", "91110000802100433B"};

    SUBCASE("the known codes are valid") {
        for (const auto& code : valid) {
            CAPTURE(code);
            CHECK(is_valid_uscc(code));
            CHECK(mod31_check_character(std::string_view(code).substr(0, 17)) == code.back());
        }
    }
    SUBCASE("changing any one character to any other alphabet character makes it invalid") {
        for (const auto& code : valid) {
            int tried = 0;
            for_each_single_substitution(code, [&](const std::string& changed, std::size_t position) {
                CAPTURE(changed);
                CAPTURE(position);
                CHECK_FALSE(is_valid_uscc(changed));
                ++tried;
            });
            CHECK(tried == 18 * 30);
        }
    }
    SUBCASE("lower case is not accepted") {
        CHECK_FALSE(is_valid_uscc("91350100m000100y43"));
        CHECK_FALSE(is_valid_uscc("91350100M000100y43"));
        CHECK_FALSE(is_valid_uscc("91110000802100433b"));
    }
    SUBCASE("characters outside the alphabet are not accepted") {
        for (const char c : std::string_view("IOSVZ -")) {
            std::string code = valid[0];
            code[8] = c;
            CAPTURE(code);
            CHECK_FALSE(is_valid_uscc(code));
        }
    }
    SUBCASE("the length is exactly 18") {
        CHECK_FALSE(is_valid_uscc(""));
        CHECK_FALSE(is_valid_uscc("91350100M000100Y4"));
        CHECK_FALSE(is_valid_uscc("91350100M000100Y433"));
        CHECK_FALSE(is_valid_uscc(" 91350100M000100Y43"));
        CHECK_FALSE(is_valid_uscc("91350100M000100Y43 "));
    }
}

TEST_CASE("第20条: a LN-LOCAL-1 registration code is region, year, type, sequence and check character") {
    SUBCASE("the scheme is named LN-LOCAL-1 and LN-2025 issues it") {
        CHECK(local_code_scheme == "LN-LOCAL-1");
        CHECK(rule_set::ln_2025().code_scheme == local_code_scheme);
    }
    SUBCASE("the layout: RRRRRR YYYY T NNNNNNN C") {
        CHECK(make_registration_code("210000", 2026, object_type::resource, 1) == "210000202610000001C");
        CHECK(make_registration_code("210100", 2025, object_type::product, 42) == "210100202520000042A");
        CHECK(make_registration_code("211400", 9999, object_type::resource, 9'999'999) == "2114009999199999998");
        CHECK(make_registration_code("210000", 1, object_type::product, 1).substr(6, 4) == "0001");
    }
    SUBCASE("every code made is valid and 19 characters long") {
        for (const char* region : {"210000", "210100", "210200", "211481"}) {
            for (int year : {1, 2025, 2026, 9999}) {
                for (object_type type : {object_type::resource, object_type::product}) {
                    for (std::uint32_t sequence : {1u, 2u, 1234567u, 9'999'999u}) {
                        const std::string code = make_registration_code(region, year, type, sequence);
                        CAPTURE(code);
                        CHECK(code.size() == 19);
                        CHECK(is_valid_registration_code(code));
                    }
                }
            }
        }
    }
    SUBCASE("changing any one character to any other alphabet character makes it invalid") {
        for (const std::string code : {"210000202610000001C", "210100202520000042A", "2114009999199999998"}) {
            REQUIRE(is_valid_registration_code(code));
            for_each_single_substitution(code, [&](const std::string& changed, std::size_t position) {
                CAPTURE(changed);
                CAPTURE(position);
                CHECK_FALSE(is_valid_registration_code(changed));
            });
        }
    }
    SUBCASE("a correct check character does not save a malformed code") {
        CHECK_FALSE(is_valid_registration_code(with_check("210000202630000001")));  // type 3
        CHECK_FALSE(is_valid_registration_code(with_check("210000202600000001")));  // type 0
        CHECK_FALSE(is_valid_registration_code(with_check("210000202610000000")));  // sequence 0
        CHECK_FALSE(is_valid_registration_code(with_check("210000000010000001")));  // year 0000
        CHECK_FALSE(is_valid_registration_code(with_check("21000A202610000001")));  // region not digits
        CHECK_FALSE(is_valid_registration_code(with_check("21000020261000000A")));  // sequence not digits
    }
    SUBCASE("lower case, wrong lengths and spaces are invalid") {
        CHECK_FALSE(is_valid_registration_code("210000202610000001c"));
        CHECK_FALSE(is_valid_registration_code(""));
        CHECK_FALSE(is_valid_registration_code("210000202610000001"));
        CHECK_FALSE(is_valid_registration_code("210000202610000001C0"));
        CHECK_FALSE(is_valid_registration_code("210000 2026 1 0000001 C"));
    }
}
