#include "cmd/cli/client.h"

#include <charconv>
#include <cstdio>
#include <cstdlib>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <fmt/format.h>

namespace regledger::cli {

std::vector<flag_spec> connection_flags() {
    return {
        {"server", true, fmt::format("the server's URL (default {}, or ${})", default_server, server_env)},
        {"token", true, fmt::format("the API token to act with (or ${})", token_env)},
        {"timeout-s", true, "seconds to wait for an answer (default 30; connecting: at most 5)"},
    };
}

std::vector<flag_spec> output_flags() {
    auto flags = connection_flags();
    flags.push_back({"json", false, "compact JSON on one line instead of indented"});
    return flags;
}

result<http_client, std::string> client_from(const args& a) {
    auto from_env = [](std::string_view name) -> std::optional<std::string> {
        const char* v = std::getenv(std::string(name).c_str());
        if (v == nullptr || *v == '\0') return std::nullopt;
        return std::string(v);
    };
    const std::string url = a.get("server").value_or(from_env(server_env).value_or(std::string(default_server)));
    auto server = server_url::parse(url);
    if (!server) return fmt::format("--server {}", server.error());
    http_client_options options;
    options.server = std::move(server).value();
    options.token = a.has("token") ? a.get("token") : from_env(token_env);
    if (options.token && options.token->empty()) options.token.reset();
    if (const auto t = a.get("timeout-s")) {
        unsigned seconds = 0;
        const auto [end, ec] = std::from_chars(t->data(), t->data() + t->size(), seconds);
        if (ec != std::errc() || end != t->data() + t->size() || seconds == 0 || seconds > 3600) {
            return fmt::format("--timeout-s {}: a whole number of seconds from 1 to 3600", *t);
        }
        options.request_timeout = std::chrono::seconds(seconds);
        options.connect_timeout = std::min<std::chrono::milliseconds>(options.request_timeout, std::chrono::seconds(5));
    }
    return http_client(std::move(options));
}

namespace {

void pretty(const boost::json::value& v, std::string& out, int depth) {
    const auto indent = [&](int d) { out.append(static_cast<std::size_t>(d) * 2, ' '); };
    switch (v.kind()) {
        case boost::json::kind::object: {
            const auto& o = v.get_object();
            if (o.empty()) {
                out += "{}";
                return;
            }
            out += "{\n";
            bool first = true;
            for (const auto& [key, value] : o) {
                if (!first) out += ",\n";
                first = false;
                indent(depth + 1);
                out += boost::json::serialize(boost::json::string_view(key));
                out += ": ";
                pretty(value, out, depth + 1);
            }
            out += "\n";
            indent(depth);
            out += "}";
            return;
        }
        case boost::json::kind::array: {
            const auto& a = v.get_array();
            if (a.empty()) {
                out += "[]";
                return;
            }
            // Short arrays of scalars stay on one line: ["54", "63"].
            bool scalars = a.size() <= 8;
            for (const auto& e : a) scalars = scalars && !e.is_object() && !e.is_array();
            if (scalars) {
                out += boost::json::serialize(v);
                return;
            }
            out += "[\n";
            bool first = true;
            for (const auto& e : a) {
                if (!first) out += ",\n";
                first = false;
                indent(depth + 1);
                pretty(e, out, depth + 1);
            }
            out += "\n";
            indent(depth);
            out += "]";
            return;
        }
        default: out += boost::json::serialize(v); return;
    }
}

}  // namespace

std::string pretty_json(const boost::json::value& v) {
    std::string out;
    pretty(v, out, 0);
    return out;
}

int exit_code_for_status(unsigned status) {
    if (status >= 200 && status < 300) return exit_ok;
    if (status >= 500) return exit_unavailable;
    return exit_rejected;
}

std::string describe_error(const http_answer& answer) {
    boost::system::error_code ec;
    const auto doc = boost::json::parse(answer.body, ec);
    if (!ec && doc.is_object()) {
        if (const auto* error = doc.get_object().if_contains("error"); error != nullptr && error->is_object()) {
            const auto& e = error->get_object();
            auto text = [&](std::string_view key) -> std::string {
                const auto* v = e.if_contains(key);
                return v != nullptr && v->is_string() ? std::string(v->get_string()) : std::string();
            };
            std::string out = fmt::format("{}: {}", text("code"), text("message"));
            if (const auto field = text("field"); !field.empty()) out += fmt::format(" (field {})", field);
            if (answer.status == 401) out += " — pass --token or set $REGLEDGER_TOKEN";
            return out;
        }
    }
    std::string body = answer.body.substr(0, 500);
    while (!body.empty() && (body.back() == '\n' || body.back() == '\r')) body.pop_back();
    return fmt::format("HTTP {}{}{}", answer.status, body.empty() ? "" : ": ", body);
}

int report_unreachable(std::string_view name, const transport_error& e) {
    fmt::print(stderr, "regledger {}: {}\n  is regledgerd running there? (--server URL or ${})\n", name, e.message,
               server_env);
    return exit_unavailable;
}

int print_answer(std::string_view name, const result<http_answer, transport_error>& answer, output_style style) {
    if (!answer) return report_unreachable(name, answer.error());
    const auto& a = answer.value();
    if (!a.ok()) {
        fmt::print(stderr, "regledger {}: {}\n", name, describe_error(a));
        return exit_code_for_status(a.status);
    }
    boost::system::error_code ec;
    const auto doc = boost::json::parse(a.body, ec);
    if (ec) {
        // Not JSON (a route answering text): print it as it came.
        fmt::print("{}", a.body);
        return exit_ok;
    }
    fmt::print("{}\n", style.compact ? boost::json::serialize(doc) : pretty_json(doc));
    return exit_ok;
}

std::string query_string(const std::vector<std::pair<std::string, std::optional<std::string>>>& pairs) {
    std::string out;
    for (const auto& [key, value] : pairs) {
        if (!value) continue;
        out += out.empty() ? '?' : '&';
        out += key;
        out += '=';
        out += url_encode(*value);
    }
    return out;
}

}  // namespace regledger::cli
