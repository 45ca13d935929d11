// The configuration file of API.md: the institutions and the API tokens with
// the identity each stands for. Read once at start and checked strictly: an
// unknown field, a wrong type, a duplicate, or a reference to a missing
// institution stops the server with a message naming it (a JSON pointer into
// the file). Its SHA-256 is recorded in every event the server writes.
//
// Thread-safety: immutable after load; share freely.
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <boost/describe/class.hpp>

#include "engine/ids.h"
#include "engine/institutions.h"
#include "engine/result.h"
#include "engine/vocabulary.h"

namespace regledger::server {

struct token_entry {
    std::string token;
    regledger::role role = regledger::role::subject;
    regledger::account_id account_id;
    std::optional<regledger::institution_id> institution_id;
};
BOOST_DESCRIBE_STRUCT(token_entry, (), (token, role, account_id, institution_id))

struct config_file {
    std::vector<institution> institutions;
    std::vector<token_entry> tokens;
};
BOOST_DESCRIBE_STRUCT(config_file, (), (institutions, tokens))

class config {
public:
    // Parses and checks the file's text; the error names what is wrong.
    [[nodiscard]] static result<config, std::string> parse(std::string_view text);
    [[nodiscard]] static result<config, std::string> load(const std::filesystem::path& file);

    const institution_directory& institutions() const noexcept { return institutions_; }
    // The identity a bearer token stands for, or nullopt for an unknown one.
    std::optional<actor> identify(std::string_view token) const;
    const digest& hash() const noexcept { return hash_; }

private:
    institution_directory institutions_;
    std::map<std::string, actor, std::less<>> tokens_;
    digest hash_;
};

}  // namespace regledger::server
