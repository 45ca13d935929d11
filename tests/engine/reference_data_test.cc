// Reference data a record is checked against (DOMAIN.md "Validation of what a
// subject submits", 第15条): GB/T 4754-2017 industry divisions and GB/T 2260
// coverage regions.
#include <doctest/doctest.h>

#include <array>
#include <fstream>
#include <iterator>
#include <set>
#include <string>

#include <fmt/format.h>

#include "engine/rules/embedded_data.h"
#include "engine/rules/reference_data.h"

using namespace regledger::rules;

namespace {

std::string read_source_file(const std::string& relative) {
    std::ifstream in(std::string(REGLEDGER_SOURCE_DIR) + "/" + relative, std::ios::binary);
    REQUIRE(in.good());
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

constexpr std::array<std::string_view, 34> province_level_codes = {
    "110000", "120000", "130000", "140000", "150000", "210000", "220000", "230000", "310000",
    "320000", "330000", "340000", "350000", "360000", "370000", "410000", "420000", "430000",
    "440000", "450000", "460000", "500000", "510000", "520000", "530000", "540000", "610000",
    "620000", "630000", "640000", "650000", "710000", "810000", "820000",
};

}  // namespace

TEST_CASE("Reference data: the compiled-in bytes are the files' bytes") {
    CHECK(embedded::gbt4754_2017_divisions_tsv() == read_source_file("engine/rules/gbt4754-2017-divisions.tsv"));
    CHECK(embedded::gbt2260_liaoning_tsv() == read_source_file("engine/rules/gbt2260-liaoning.tsv"));
}

TEST_CASE("第15条: industry divisions are the 97 two-digit divisions 01-97 of GB/T 4754-2017") {
    SUBCASE("01 to 97, each once, in order, with a section A-T and a name") {
        const auto divisions = industry_divisions();
        REQUIRE(divisions.size() == 97);
        for (std::size_t i = 0; i < divisions.size(); ++i) {
            CHECK(divisions[i].code == fmt::format("{:02}", i + 1));
            CHECK(divisions[i].section >= 'A');
            CHECK(divisions[i].section <= 'T');
            CHECK_FALSE(divisions[i].name.empty());
            if (i > 0) CHECK(divisions[i - 1].section <= divisions[i].section);
        }
        CHECK(divisions.front().section == 'A');
        CHECK(divisions.back().section == 'T');
    }
    SUBCASE("every listed code is a division, with its name") {
        for (int n = 1; n <= 97; ++n) CHECK(is_industry_division(fmt::format("{:02}", n)));
        CHECK(industry_division_name("01") == "农业");
        CHECK(industry_division_name("65") == "软件和信息技术服务业");
        CHECK(industry_division_name("92") == "国家机构");
        CHECK(industry_division_name("97") == "国际组织");
    }
    SUBCASE("anything else is not") {
        for (std::string_view code : {"98", "00", "99", "1", "001", "", "6a", " 1", "01 ", "A", "A01", "0１"}) {
            CAPTURE(code);
            CHECK_FALSE(is_industry_division(code));
            CHECK(industry_division_name(code) == std::nullopt);
        }
    }
}

TEST_CASE("DOMAIN.md Validation: Liaoning's GB/T 2260 codes, with level, name and parent") {
    const auto regions = liaoning_regions();
    SUBCASE("one province, 14 cities and 100 counties, in code order") {
        int provinces = 0, cities = 0, counties = 0;
        for (std::size_t i = 0; i < regions.size(); ++i) {
            if (i > 0) CHECK(regions[i - 1].code < regions[i].code);
            switch (regions[i].level) {
                case region_level::province: ++provinces; break;
                case region_level::city: ++cities; break;
                case region_level::county: ++counties; break;
            }
        }
        CHECK(provinces == 1);
        CHECK(cities == 14);
        CHECK(counties == 100);
    }
    SUBCASE("each region's parent is listed, one level up, and shares its code prefix") {
        for (const region& r : regions) {
            CAPTURE(r.code);
            CHECK(r.code.size() == 6);
            CHECK(r.code.starts_with("21"));
            CHECK_FALSE(r.name.empty());
            if (r.level == region_level::province) {
                CHECK(r.code == "210000");
                CHECK(r.parent.empty());
                continue;
            }
            const auto parent = liaoning_region(r.parent);
            REQUIRE(parent);
            if (r.level == region_level::city) {
                CHECK(parent->level == region_level::province);
                CHECK(r.code.substr(4) == "00");
            } else {
                CHECK(parent->level == region_level::city);
                CHECK(r.code.substr(0, 4) == r.parent.substr(0, 4));
                CHECK(r.code.substr(4) != "00");
            }
        }
    }
    SUBCASE("lookups") {
        const auto province = liaoning_region("210000");
        REQUIRE(province);
        CHECK(province->name == "辽宁省");
        CHECK(province->level == region_level::province);

        const auto shenyang = liaoning_region("210100");
        REQUIRE(shenyang);
        CHECK(shenyang->name == "沈阳市");
        CHECK(shenyang->parent == "210000");

        const auto heping = liaoning_region("210102");
        REQUIRE(heping);
        CHECK(heping->name == "和平区");
        CHECK(heping->level == region_level::county);
        CHECK(heping->parent == "210100");

        const auto xingcheng = liaoning_region("211481");
        REQUIRE(xingcheng);
        CHECK(xingcheng->name == "兴城市");
        CHECK(xingcheng->parent == "211400");
    }
    SUBCASE("codes not in the file") {
        for (std::string_view code : {"210199", "990000", "000000", "110000", "21010", "2101020", "", "21010a", "1"}) {
            CAPTURE(code);
            CHECK(liaoning_region(code) == std::nullopt);
        }
    }
}

TEST_CASE("DOMAIN.md Validation: a coverage region is a Liaoning code, a province-level code XX0000, or 000000") {
    SUBCASE("national") { CHECK(is_valid_coverage_region("000000")); }
    SUBCASE("all 34 province-level divisions, and no other XX0000") {
        const std::set<std::string_view> provinces(province_level_codes.begin(), province_level_codes.end());
        for (int prefix = 1; prefix <= 99; ++prefix) {
            const std::string code = fmt::format("{:02}0000", prefix);
            CAPTURE(code);
            CHECK(is_valid_coverage_region(code) == provinces.contains(code));
        }
    }
    SUBCASE("every Liaoning code of the file") {
        for (const region& r : liaoning_regions()) CHECK(is_valid_coverage_region(r.code));
    }
    SUBCASE("below province level, only Liaoning's codes") {
        CHECK_FALSE(is_valid_coverage_region("220100"));  // 长春市, Jilin
        CHECK_FALSE(is_valid_coverage_region("110101"));  // 东城区, Beijing
    }
    SUBCASE("malformed or unknown codes") {
        for (std::string_view code : {"210199", "990000", "98", "00", "1", "", "0000000", "21000", "21000a", " 210000"}) {
            CAPTURE(code);
            CHECK_FALSE(is_valid_coverage_region(code));
        }
    }
}
