// A request as the route handlers see it: method, path parameters, query,
// body, and who is asking. And the one function that turns a rejection into
// an HTTP status and error body (API.md "Every error has one shape").
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/beast/http/status.hpp>
#include <boost/json/value.hpp>

#include "cmd/server/http_server.h"
#include "engine/result.h"
#include "engine/vocabulary.h"

namespace regledger::server {

struct request_context {
    const http_request* http = nullptr;
    std::map<std::string, std::string, std::less<>> params;  // path parameters
    std::map<std::string, std::string, std::less<>> query;   // decoded
    // Who is asking: the token's identity, or nullopt without a token.
    std::optional<actor> caller;
    bool from_loopback = false;

    std::optional<std::string_view> q(std::string_view name) const {
        const auto it = query.find(name);
        if (it == query.end()) return std::nullopt;
        return std::string_view(it->second);
    }
};

// The HTTP status of each rejection code (API.md's table).
boost::beast::http::status http_status_of(errc code) noexcept;

http_response json_response(boost::beast::http::status status, const boost::json::value& body, unsigned version);
http_response error_response(const rejection& r, unsigned version);
http_response text_response(boost::beast::http::status status, std::string body, std::string_view content_type,
                            unsigned version);

// Splits "/v1/x?a=1&b=%E8" into the path and the percent-decoded query;
// nullopt when the query is not valid percent-encoding.
struct split_target {
    std::string path;
    std::map<std::string, std::string, std::less<>> query;
};
std::optional<split_target> parse_target(std::string_view target);

// "/v1/registrations/r1/history" -> {"v1", "registrations", "r1", "history"}.
std::vector<std::string_view> path_segments(std::string_view path);

}  // namespace regledger::server
