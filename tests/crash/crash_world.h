// What the crash child (crash_child.cc) and the crash tests (crash_test.cc)
// share: the institutions and ledger context both open a data directory
// with, the accounts the child seeds, and the ACK line the child writes for
// every acknowledged command and the test reads back.
//
// Kept free of doctest, so that the child program can include it.
#pragma once

#include <charconv>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "engine/commands.h"
#include "engine/institutions.h"
#include "engine/rules/rule_set.h"
#include "projections/writer.h"

namespace regledger::crash {

// Valid unified social credit codes (GB 32100) of the two seeded subjects.
inline constexpr std::string_view uscc_a = "91350100M000100Y43";
inline constexpr std::string_view uscc_b = "91110000802100433B";

// The provincial institution and two municipal ones filing with it.
inline institution_directory institutions() {
    std::vector<institution> list{
        {institution_id("LN"), "辽宁省数据中心", institution_level::provincial, "210000", std::nullopt},
        {institution_id("LN-SY"), "沈阳市公共数据资源登记机构", institution_level::municipal, "210100",
         institution_id("LN")},
        {institution_id("LN-DL"), "大连市公共数据资源登记机构", institution_level::municipal, "210200",
         institution_id("LN")},
    };
    auto d = institution_directory::make(std::move(list));
    if (!d) {
        std::fprintf(stderr, "crash world: bad institutions: %s\n", d.error().message.c_str());
        std::abort();
    }
    return std::move(d).value();
}

// REQUIRES: `directory` outlives every ledger opened with the context.
inline projections::ledger_context context(const institution_directory& directory) {
    return {&rules::rule_set::ln_2025(), &directory, digest{}};
}

inline actor clerk_of(const institution_id& inst) {
    return {account_id("clerk-" + inst.value()), role::clerk, inst};
}
inline actor subject_of(std::string_view account) {
    return {account_id(std::string(account)), role::subject, std::nullopt};
}
inline actor member_of_public() { return {account_id("anonymous"), role::public_, std::nullopt}; }

// The accounts every registration is submitted from: opened and verified
// with fixed command ids, so seeding again (after a kill in the middle of it)
// repeats the first outcomes and writes nothing twice.
inline std::vector<command_envelope> seed_commands() {
    const actor sy = clerk_of(institution_id("LN-SY"));
    auto env = [](std::string id, actor issuer, command body) {
        command_envelope e;
        e.command_id = command_id(std::move(id));
        e.issued_by = std::move(issuer);
        e.body = std::move(body);
        return e;
    };
    return {
        env("seed-open-acct-a", member_of_public(),
            open_account{account_id("acct-a"), "沈阳市公交集团", std::string(uscc_a), subject_type::public_utility,
                         "210100"}),
        env("seed-verify-acct-a", sy, verify_account{account_id("acct-a")}),
        env("seed-open-acct-b", member_of_public(),
            open_account{account_id("acct-b"), "北京数据运营公司", std::string(uscc_b),
                         subject_type::authorized_operator, "210100"}),
        env("seed-verify-acct-b", sy, verify_account{account_id("acct-b")}),
    };
}

// One acknowledged command, as the child reports it on stdout:
//   "ACK <command id> <applied|rejected> <stream|-> <version>\n"
// A rejected command has no stream ("-") and version 0.
struct ack {
    std::string command;
    bool applied = false;
    std::string stream;
    std::uint64_t version = 0;

    friend bool operator==(const ack&, const ack&) = default;
};

inline std::string format_ack(const command_id& id, const projections::command_outcome& o) {
    const bool applied = o.result_kind == projections::command_outcome::kind::applied;
    return fmt::format("ACK {} {} {} {}\n", id.value(), applied ? "applied" : "rejected",
                       applied ? o.stream.value() : std::string("-"), applied ? o.version.value() : 0);
}

// A line without its '\n'; nullopt when it is not a well-formed ACK line.
inline std::optional<ack> parse_ack(std::string_view line) {
    std::vector<std::string_view> fields;
    while (!line.empty()) {
        const auto space = line.find(' ');
        fields.push_back(line.substr(0, space));
        line = space == std::string_view::npos ? std::string_view() : line.substr(space + 1);
    }
    if (fields.size() != 5 || fields[0] != "ACK" || fields[1].empty() || fields[3].empty()) return std::nullopt;
    ack a;
    a.command = std::string(fields[1]);
    if (fields[2] == "applied") {
        a.applied = true;
    } else if (fields[2] != "rejected") {
        return std::nullopt;
    }
    a.stream = a.applied ? std::string(fields[3]) : std::string();
    const auto [end, ec] = std::from_chars(fields[4].data(), fields[4].data() + fields[4].size(), a.version);
    if (ec != std::errc() || end != fields[4].data() + fields[4].size()) return std::nullopt;
    if (!a.applied && (fields[3] != "-" || a.version != 0)) return std::nullopt;
    return a;
}

}  // namespace regledger::crash
