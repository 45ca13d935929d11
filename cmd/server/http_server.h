// http_server: HTTP/1.1 on Boost.Beast over Asio, and nothing else — it
// reads requests within limits, hands each to the application, and writes
// the answer (after the Beast async server example). The application answers
// through a callback, possibly later and from another thread (a command is
// answered when the writer has committed it).
//
// Limits: a request body over body_bytes_max gets 413 TOO_LARGE; a client
// that does not send a whole request head within header_timeout, or stays
// idle between requests longer than idle_timeout, is disconnected; past
// connections_max open connections, new ones are closed at once. Keep-alive
// as the client asks.
//
// Lifecycle: start() begins accepting; stop_accepting() closes the listener
// and lets every open connection finish the request in hand and then close;
// wait_idle() returns when none is left. From start() until wait_idle() has
// returned, the server keeps the io_context from running out of work, so that
// the I/O threads are still there for an answer that comes later (a command
// the writer is committing) or a connection being closed.
// Thread-safety: run the io_context on any number of threads; each
// connection is serialized on its own strand.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

namespace regledger::server {

using http_request = boost::beast::http::request<boost::beast::http::string_body>;
using http_response = boost::beast::http::response<boost::beast::http::string_body>;
using reply_fn = std::function<void(http_response)>;
using app_handler = std::function<void(http_request&& request, const boost::asio::ip::tcp::endpoint& remote, reply_fn reply)>;
// The answer when a request is refused before the application sees it
// (too large, malformed HTTP): status and error code.
using refusal_fn = std::function<http_response(boost::beast::http::status status, std::string_view code,
                                               std::string_view message, unsigned version)>;

struct http_limits {
    std::size_t body_bytes_max = 1u << 20;
    std::size_t header_bytes_max = 16u << 10;
    std::chrono::seconds header_timeout{10};
    std::chrono::seconds idle_timeout{60};
    // How long a response may take to write to a slow reader.
    std::chrono::seconds write_timeout{30};
    std::size_t connections_max = 1024;
};

class http_server {
public:
    http_server(boost::asio::io_context& io, boost::asio::ip::tcp::endpoint listen, http_limits limits,
                app_handler app, refusal_fn refuse);
    ~http_server();

    // Opens the listener; throws boost::system::system_error when the address
    // cannot be bound (a start-up failure, reported by the caller).
    void start();
    boost::asio::ip::tcp::endpoint local_endpoint() const;

    void stop_accepting();
    void wait_idle();
    std::size_t open_connections() const noexcept { return state_->connections.load(); }

    // A connection, as the server sees it when stopping.
    class connection {
    public:
        virtual ~connection() = default;
        // Closes the connection unless a request is being handled or
        // answered; such a one closes after its answer.
        virtual void stop_if_idle() = 0;
    };

    // Shared with the sessions, which may outlive a stopping server briefly.
    struct shared_state {
        std::atomic<std::size_t> connections{0};
        std::atomic<bool> stopping{false};
        std::mutex mutex;
        std::condition_variable idle;
        std::vector<std::weak_ptr<connection>> open;
    };

private:
    void accept();

    boost::asio::io_context& io_;
    boost::asio::ip::tcp::endpoint listen_;
    http_limits limits_;
    app_handler app_;
    refusal_fn refuse_;
    boost::asio::ip::tcp::acceptor acceptor_;
    std::shared_ptr<shared_state> state_;
    std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_;
};

}  // namespace regledger::server
