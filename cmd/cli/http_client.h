// http_client: a small synchronous HTTP/1.1 client on Boost.Beast, for the
// CLI's talk with regledgerd (API.md). One request at a time, one TCP
// connection per request (the CLI sends few; a fresh connection never meets
// a server that closed it while idle), every step bounded by a timeout.
//
// Only plain `http://` is spoken: regledgerd listens on HTTP, and a TLS front
// end is an operator's proxy, not this tool's business.
//
// Failure is in two kinds, like the rest of the ledger: an HTTP answer of any
// status (the server spoke; 4xx and 5xx bodies are API.md error documents) is
// a value; not reaching the server or not getting a whole answer in time is a
// `transport_error` with a message that names the server.
//
// Thread-safety: one thread per client object.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "engine/result.h"

namespace regledger::cli {

// Where the server is: "http://HOST[:PORT][/PREFIX]".
struct server_url {
    std::string host;
    std::string port = "80";
    std::string path_prefix;  // "" or "/prefix" (no trailing '/')

    // "http://host:port" as the user should see it.
    std::string to_string() const;

    // A message on a URL this client cannot use (another scheme, no host).
    static result<server_url, std::string> parse(std::string_view text);
};

struct http_client_options {
    server_url server;
    // Sent as "Authorization: Bearer <token>" unless a request overrides it.
    std::optional<std::string> token;
    std::chrono::milliseconds connect_timeout{5'000};
    // From the request's first byte to the answer's last.
    std::chrono::milliseconds request_timeout{30'000};
    // Answers larger than this are a transport error (a protocol problem,
    // not something to print).
    std::size_t body_bytes_max = 64u << 20;
};

struct http_answer {
    unsigned status = 0;
    std::string content_type;
    std::string body;

    bool ok() const noexcept { return status >= 200 && status < 300; }
};

struct transport_error {
    std::string message;  // "cannot connect to http://127.0.0.1:8080: Connection refused"
};

// Whose token a request carries.
struct as_token {
    std::optional<std::string> token;  // nullopt: no Authorization header at all
};

class http_client {
public:
    explicit http_client(http_client_options options);

    const http_client_options& options() const noexcept { return options_; }

    // `target` is the path and query under the server's prefix ("/v1/stats?from=...").
    result<http_answer, transport_error> get(std::string_view target);
    result<http_answer, transport_error> post_json(std::string_view target, std::string_view body);

    // The same with a token other than the default one (the demo acts as
    // several people).
    result<http_answer, transport_error> get(std::string_view target, const as_token& who);
    result<http_answer, transport_error> post_json(std::string_view target, std::string_view body, const as_token& who);

private:
    enum class method { get, post };
    result<http_answer, transport_error> exchange(method m, std::string_view target, std::string_view body,
                                                  const std::optional<std::string>& token);

    http_client_options options_;
};

// Percent-encodes a query value or a path segment (RFC 3986 unreserved kept).
std::string url_encode(std::string_view text);

}  // namespace regledger::cli
