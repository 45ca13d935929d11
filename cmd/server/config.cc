#include "cmd/server/config.h"

#include <fstream>
#include <set>
#include <sstream>

#include <boost/json/parse.hpp>
#include <fmt/format.h>

#include "engine/sha256.h"
#include "events/json.h"

namespace regledger::server {

result<config, std::string> config::parse(std::string_view text) {
    boost::system::error_code ec;
    const auto value = boost::json::parse(text, ec);
    if (ec) return fmt::format("the configuration is not JSON: {}", ec.message());
    auto file = json::from_json<config_file>(value);
    if (!file) {
        const auto& r = file.error();
        return fmt::format("configuration {}: {}", r.field.empty() ? "/" : r.field, r.message);
    }
    config c;
    auto directory = institution_directory::make(file.value().institutions);
    if (!directory) {
        return fmt::format("configuration {}: {}", directory.error().field, directory.error().message);
    }
    c.institutions_ = std::move(directory).value();
    for (std::size_t i = 0; i < file.value().tokens.size(); ++i) {
        const token_entry& t = file.value().tokens[i];
        const std::string at = fmt::format("/tokens/{}", i);
        if (t.token.size() < 8) return fmt::format("configuration {}/token: a token has at least 8 characters", at);
        if (c.tokens_.contains(t.token)) return fmt::format("configuration {}/token: this token is listed twice", at);
        if (t.role == role::public_ || t.role == role::system) {
            return fmt::format("configuration {}/role: tokens are for subject, clerk, auditor or supervisor", at);
        }
        if (t.account_id.value().empty()) return fmt::format("configuration {}/account_id: must not be empty", at);
        if (t.role == role::clerk) {
            if (!t.institution_id) return fmt::format("configuration {}/institution_id: a clerk belongs to an institution", at);
            if (c.institutions_.find(*t.institution_id) == nullptr) {
                return fmt::format("configuration {}/institution_id: no institution {}", at, t.institution_id->value());
            }
        } else if (t.institution_id) {
            return fmt::format("configuration {}/institution_id: only a clerk belongs to an institution", at);
        }
        c.tokens_.emplace(t.token, actor{t.account_id, t.role, t.institution_id});
    }
    c.hash_ = digest(sha256::of(text));
    return c;
}

result<config, std::string> config::load(const std::filesystem::path& file) {
    std::ifstream in(file, std::ios::binary);
    if (!in) return fmt::format("cannot read the configuration file {}", file.string());
    std::ostringstream text;
    text << in.rdbuf();
    auto c = parse(text.str());
    if (!c) return fmt::format("{}: {}", file.string(), c.error());
    return c;
}

std::optional<actor> config::identify(std::string_view token) const {
    const auto it = tokens_.find(token);
    if (it == tokens_.end()) return std::nullopt;
    return it->second;
}

}  // namespace regledger::server
