#include "cmd/server/request.h"

#include <boost/beast/http/field.hpp>
#include <boost/json/serialize.hpp>

#include "events/json.h"

namespace regledger::server {

namespace http = boost::beast::http;

http::status http_status_of(errc code) noexcept {
    switch (code) {
        case errc::malformed: return http::status::bad_request;
        case errc::validation: return http::status::bad_request;
        case errc::unauthenticated: return http::status::unauthorized;
        case errc::forbidden: return http::status::forbidden;
        case errc::not_found: return http::status::not_found;
        case errc::invalid_state: return http::status::conflict;
        case errc::conflict: return http::status::conflict;
        case errc::renewal_window_closed: return http::status::conflict;
        case errc::unavailable: return http::status::service_unavailable;
    }
    return http::status::internal_server_error;
}

http_response text_response(http::status status, std::string body, std::string_view content_type, unsigned version) {
    http_response res{status, version};
    res.set(http::field::server, "regledger");
    res.set(http::field::content_type, content_type);
    res.body() = std::move(body);
    res.prepare_payload();
    return res;
}

http_response json_response(http::status status, const boost::json::value& body, unsigned version) {
    return text_response(status, boost::json::serialize(body), "application/json; charset=utf-8", version);
}

http_response error_response(const rejection& r, unsigned version) {
    auto res = json_response(http_status_of(r.code), json::error_body(r), version);
    if (r.code == errc::unauthenticated) res.set(http::field::www_authenticate, "Bearer");
    return res;
}

namespace {

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

std::optional<std::string> percent_decode(std::string_view in) {
    std::string out;
    out.reserve(in.size());
    for (std::size_t i = 0; i < in.size(); ++i) {
        if (in[i] == '+') {
            out.push_back(' ');
        } else if (in[i] == '%') {
            if (i + 2 >= in.size()) return std::nullopt;
            const int hi = hex_value(in[i + 1]);
            const int lo = hex_value(in[i + 2]);
            if (hi < 0 || lo < 0) return std::nullopt;
            out.push_back(static_cast<char>(hi << 4 | lo));
            i += 2;
        } else {
            out.push_back(in[i]);
        }
    }
    return out;
}

}  // namespace

std::optional<split_target> parse_target(std::string_view target) {
    split_target out;
    const auto q = target.find('?');
    auto path = percent_decode(target.substr(0, q));
    if (!path) return std::nullopt;
    out.path = std::move(*path);
    if (q == std::string_view::npos) return out;
    std::string_view rest = target.substr(q + 1);
    while (!rest.empty()) {
        const auto amp = rest.find('&');
        const std::string_view pair = rest.substr(0, amp);
        rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
        if (pair.empty()) continue;
        const auto eq = pair.find('=');
        auto key = percent_decode(pair.substr(0, eq));
        auto value = percent_decode(eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1));
        if (!key || !value) return std::nullopt;
        out.query[std::move(*key)] = std::move(*value);
    }
    return out;
}

std::vector<std::string_view> path_segments(std::string_view path) {
    std::vector<std::string_view> out;
    while (!path.empty()) {
        if (path.front() == '/') {
            path.remove_prefix(1);
            continue;
        }
        const auto slash = path.find('/');
        out.push_back(path.substr(0, slash));
        path = slash == std::string_view::npos ? std::string_view() : path.substr(slash);
    }
    return out;
}

}  // namespace regledger::server
