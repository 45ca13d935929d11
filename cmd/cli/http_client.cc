#include "cmd/cli/http_client.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <fmt/format.h>

namespace regledger::cli {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;

std::string server_url::to_string() const {
    const bool v6 = host.find(':') != std::string::npos;
    return fmt::format("http://{}{}{}:{}{}", v6 ? "[" : "", host, v6 ? "]" : "", port, path_prefix);
}

result<server_url, std::string> server_url::parse(std::string_view text) {
    constexpr std::string_view scheme = "http://";
    if (!text.starts_with(scheme)) {
        if (text.starts_with("https://")) {
            return fmt::format("{}: only http:// is spoken (put TLS in a proxy in front of regledgerd)", text);
        }
        return fmt::format("{}: expected http://HOST[:PORT]", text);
    }
    std::string_view rest = text.substr(scheme.size());
    server_url out;
    const auto slash = rest.find('/');
    std::string_view authority = rest.substr(0, slash);
    if (slash != std::string_view::npos) {
        std::string_view prefix = rest.substr(slash);
        while (prefix.ends_with('/')) prefix.remove_suffix(1);
        out.path_prefix = std::string(prefix);
    }
    if (authority.starts_with('[')) {  // [v6]:port
        const auto close = authority.find(']');
        if (close == std::string_view::npos) return fmt::format("{}: unclosed '[' in the host", text);
        out.host = std::string(authority.substr(1, close - 1));
        authority.remove_prefix(close + 1);
        if (authority.starts_with(':')) {
            out.port = std::string(authority.substr(1));
        } else if (!authority.empty()) {
            return fmt::format("{}: expected ':PORT' after the host", text);
        }
    } else {
        const auto colon = authority.rfind(':');
        out.host = std::string(authority.substr(0, colon));
        if (colon != std::string_view::npos) out.port = std::string(authority.substr(colon + 1));
    }
    if (out.host.empty()) return fmt::format("{}: no host", text);
    if (out.port.empty() || out.port.size() > 5 || out.port.find_first_not_of("0123456789") != std::string::npos ||
        std::stoul(out.port) == 0 || std::stoul(out.port) > 65535) {
        return fmt::format("{}: the port is not a number from 1 to 65535", text);
    }
    return out;
}

http_client::http_client(http_client_options options) : options_(std::move(options)) {}

result<http_answer, transport_error> http_client::get(std::string_view target) {
    return exchange(method::get, target, {}, options_.token);
}

result<http_answer, transport_error> http_client::post_json(std::string_view target, std::string_view body) {
    return exchange(method::post, target, body, options_.token);
}

result<http_answer, transport_error> http_client::get(std::string_view target, const as_token& who) {
    return exchange(method::get, target, {}, who.token);
}

result<http_answer, transport_error> http_client::post_json(std::string_view target, std::string_view body,
                                                            const as_token& who) {
    return exchange(method::post, target, body, who.token);
}

namespace {

std::string seconds_text(std::chrono::milliseconds d) {
    if (d.count() % 1000 == 0) return fmt::format("{} s", d.count() / 1000);
    return fmt::format("{:.1f} s", static_cast<double>(d.count()) / 1000.0);
}

}  // namespace

// Asynchronous operations on a private io_context, run to completion: the
// only way Beast bounds each step with a timeout.
result<http_answer, transport_error> http_client::exchange(method m, std::string_view target, std::string_view body,
                                                           const std::optional<std::string>& token) {
    const bool post = m == method::post;
    const std::string where = options_.server.to_string();
    asio::io_context io;
    tcp::resolver resolver(io);
    beast::tcp_stream stream(io);
    asio::steady_timer resolve_deadline(io);
    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.body_limit(options_.body_bytes_max);

    http::request<http::string_body> request(post ? http::verb::post : http::verb::get,
                                             options_.server.path_prefix + std::string(target), 11);
    request.set(http::field::host, options_.server.host);
    request.set(http::field::user_agent, "regledger-cli");
    request.set(http::field::accept, "application/json");
    request.set(http::field::connection, "close");
    if (token) request.set(http::field::authorization, "Bearer " + *token);
    if (post) {
        request.set(http::field::content_type, "application/json");
        request.body() = std::string(body);
    }
    request.prepare_payload();

    std::optional<transport_error> failed;
    bool resolve_timed_out = false;
    auto fail = [&](std::string message) {
        if (!failed) failed = transport_error{std::move(message)};
    };
    auto timed_out = [](const beast::error_code& ec) { return ec == beast::error::timeout; };

    auto on_read = [&](const beast::error_code& ec, std::size_t) {
        if (timed_out(ec)) return fail(fmt::format("no answer from {} within {}", where, seconds_text(options_.request_timeout)));
        if (ec) return fail(fmt::format("reading the answer from {}: {}", where, ec.message()));
    };
    auto on_write = [&](const beast::error_code& ec, std::size_t) {
        if (timed_out(ec)) return fail(fmt::format("no answer from {} within {}", where, seconds_text(options_.request_timeout)));
        if (ec) return fail(fmt::format("sending the request to {}: {}", where, ec.message()));
        http::async_read(stream, buffer, parser, on_read);
    };
    auto on_connect = [&](const beast::error_code& ec, const tcp::endpoint&) {
        if (timed_out(ec)) {
            return fail(fmt::format("cannot connect to {}: no connection within {}", where,
                                    seconds_text(options_.connect_timeout)));
        }
        if (ec) return fail(fmt::format("cannot connect to {}: {}", where, ec.message()));
        stream.expires_after(options_.request_timeout);
        http::async_write(stream, request, on_write);
    };
    resolve_deadline.expires_after(options_.connect_timeout);
    resolve_deadline.async_wait([&](const boost::system::error_code& ec) {
        if (!ec) {
            resolve_timed_out = true;
            resolver.cancel();
        }
    });
    resolver.async_resolve(options_.server.host, options_.server.port,
                           [&](const beast::error_code& ec, const tcp::resolver::results_type& endpoints) {
                               resolve_deadline.cancel();
                               if (resolve_timed_out) {
                                   return fail(fmt::format("cannot resolve {} within {}", options_.server.host,
                                                           seconds_text(options_.connect_timeout)));
                               }
                               if (ec) return fail(fmt::format("cannot resolve {}: {}", options_.server.host, ec.message()));
                               stream.expires_after(options_.connect_timeout);
                               stream.async_connect(endpoints, on_connect);
                           });
    io.run();
    if (failed) return *failed;

    beast::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
    auto response = parser.release();
    http_answer out;
    out.status = response.result_int();
    if (const auto ct = response.find(http::field::content_type); ct != response.end()) {
        out.content_type = std::string(ct->value());
    }
    out.body = std::move(response.body());
    return out;
}

std::string url_encode(std::string_view text) {
    std::string out;
    for (const unsigned char c : text) {
        const bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                                c == '-' || c == '.' || c == '_' || c == '~';
        if (unreserved) {
            out += static_cast<char>(c);
        } else {
            out += fmt::format("%{:02X}", c);
        }
    }
    return out;
}

}  // namespace regledger::cli
