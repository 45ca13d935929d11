#include "cmd/server/http_server.h"

#include <future>
#include <optional>

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>

namespace regledger::server {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

// One connection: read a request within the limits, give it to the
// application, write its answer, and again while the client keeps it alive.
class session final : public http_server::connection, public std::enable_shared_from_this<session> {
    // What one read takes at most while waiting for the next request.
    static constexpr std::size_t read_chunk_bytes = 4096;

public:
    session(tcp::socket socket, const http_limits& limits, const app_handler& app, const refusal_fn& refuse,
            std::shared_ptr<http_server::shared_state> state)
        : counted_{std::move(state)}, stream_(std::move(socket)), limits_(limits), app_(app), refuse_(refuse) {
        boost::system::error_code ec;
        remote_ = stream_.socket().remote_endpoint(ec);
        // Each response is written whole: Nagle's algorithm could only hold
        // one back until the client's delayed acknowledgement (40 ms).
        stream_.socket().set_option(tcp::no_delay(true), ec);
    }

    void run() {
        asio::dispatch(stream_.get_executor(), beast::bind_front_handler(&session::read_header, shared_from_this()));
    }

    void stop_if_idle() override {
        asio::post(stream_.get_executor(), [self = shared_from_this()] {
            if (!self->busy_) self->close();
        });
    }

private:
    void read_header() {
        if (counted_.state->stopping) return close();
        parser_.emplace();
        parser_->body_limit(limits_.body_bytes_max);
        parser_->header_limit(static_cast<std::uint32_t>(limits_.header_bytes_max));
        // Between requests of a kept-alive connection the idle timeout
        // applies until the next request begins; its head then has the
        // header timeout, as the first request's has.
        if (requests_ > 0 && buffer_.size() == 0) {
            stream_.expires_after(limits_.idle_timeout);
            return stream_.async_read_some(buffer_.prepare(read_chunk_bytes),
                                           beast::bind_front_handler(&session::on_next_request, shared_from_this()));
        }
        read_head();
    }

    void on_next_request(beast::error_code ec, std::size_t n) {
        if (closed_) return;
        if (ec) return on_read_error(ec);
        buffer_.commit(n);
        read_head();
    }

    void read_head() {
        stream_.expires_after(limits_.header_timeout);
        http::async_read_header(stream_, buffer_, *parser_,
                                beast::bind_front_handler(&session::on_header, shared_from_this()));
    }

    void on_header(beast::error_code ec, std::size_t) {
        if (closed_) return;
        if (ec) return on_read_error(ec);
        // The body must follow promptly.
        stream_.expires_after(limits_.header_timeout);
        http::async_read(stream_, buffer_, *parser_, beast::bind_front_handler(&session::on_read, shared_from_this()));
    }

    void on_read(beast::error_code ec, std::size_t) {
        // A read that completed just before stop_if_idle() closed the
        // connection: its answer could not be written, so the request must
        // not be acted on either.
        if (closed_) return;
        if (ec) return on_read_error(ec);
        ++requests_;
        busy_ = true;
        stream_.expires_never();
        http_request request = parser_->release();
        keep_alive_ = request.keep_alive();
        version_ = request.version();
        auto self = shared_from_this();
        app_(std::move(request), remote_, [self](http_response response) {
            asio::post(self->stream_.get_executor(),
                       [self, response = std::move(response)]() mutable { self->write(std::move(response)); });
        });
    }

    void on_read_error(beast::error_code ec) {
        if (ec == http::error::end_of_stream || ec == beast::error::timeout || ec == asio::error::operation_aborted ||
            ec == asio::error::connection_reset || ec == asio::error::eof) {
            return close();
        }
        // The request cannot be read: answer once, then close.
        keep_alive_ = false;
        if (ec == http::error::body_limit) {
            write(refuse_(http::status::payload_too_large, "TOO_LARGE",
                          "the request body is larger than the limit of " + std::to_string(limits_.body_bytes_max) +
                              " bytes",
                          version_));
        } else if (ec == http::error::header_limit) {
            write(refuse_(http::status::request_header_fields_too_large, "MALFORMED", "the request head is too large",
                          version_));
        } else {
            write(refuse_(http::status::bad_request, "MALFORMED", "not an HTTP/1.1 request: " + ec.message(), version_));
        }
    }

    void write(http_response response) {
        busy_ = true;
        const bool keep = keep_alive_ && !counted_.state->stopping;
        response.keep_alive(keep);
        response.prepare_payload();
        response_ = std::make_shared<http_response>(std::move(response));
        stream_.expires_after(limits_.write_timeout);
        http::async_write(stream_, *response_,
                          beast::bind_front_handler(&session::on_write, shared_from_this(), keep));
    }

    void on_write(bool keep, beast::error_code ec, std::size_t) {
        response_.reset();
        busy_ = false;
        if (ec || !keep) return close();
        read_header();
    }

    void close() {
        closed_ = true;
        beast::error_code ec;
        stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
        stream_.socket().close(ec);
    }

    // Counts the session as open until every other member is gone: the
    // stream's destructor still uses the io_context, which the server's
    // owner may destroy as soon as wait_idle() sees no connection left
    // (the last reference can be dropped on the writer's committing thread).
    struct open_count {
        std::shared_ptr<http_server::shared_state> state;
        ~open_count() {
            if (--state->connections == 0) {
                std::lock_guard lock(state->mutex);
                state->idle.notify_all();
            }
        }
    };
    open_count counted_;
    beast::tcp_stream stream_;
    beast::flat_buffer buffer_;
    std::optional<http::request_parser<http::string_body>> parser_;
    std::shared_ptr<http_response> response_;
    const http_limits& limits_;
    const app_handler& app_;
    const refusal_fn& refuse_;
    tcp::endpoint remote_;
    bool keep_alive_ = false;
    unsigned version_ = 11;
    std::size_t requests_ = 0;
    // A request is being handled or its answer written.
    bool busy_ = false;
    // close() was called; whatever completes afterwards is dropped.
    bool closed_ = false;
};

}  // namespace

http_server::http_server(asio::io_context& io, tcp::endpoint listen, http_limits limits, app_handler app,
                         refusal_fn refuse)
    : io_(io),
      listen_(listen),
      limits_(limits),
      app_(std::move(app)),
      refuse_(std::move(refuse)),
      acceptor_(asio::make_strand(io)),
      state_(std::make_shared<shared_state>()) {}

http_server::~http_server() {
    // The io_context is no longer running: close directly.
    state_->stopping = true;
    beast::error_code ec;
    acceptor_.close(ec);
}

void http_server::start() {
    // Without it, io_context::run() returns as soon as nothing is pending:
    // when stopping, between a request handed to the application and its
    // answer, or just as a connection is told to close, which would leave
    // that connection unanswered and wait_idle() waiting forever.
    work_.emplace(boost::asio::make_work_guard(io_));
    acceptor_.open(listen_.protocol());
    acceptor_.set_option(asio::socket_base::reuse_address(true));
    acceptor_.bind(listen_);
    acceptor_.listen(asio::socket_base::max_listen_connections);
    accept();
}

tcp::endpoint http_server::local_endpoint() const {
    boost::system::error_code ec;
    return acceptor_.local_endpoint(ec);
}

void http_server::accept() {
    acceptor_.async_accept(asio::make_strand(io_), [this](beast::error_code ec, tcp::socket socket) {
        if (ec) {
            if (ec == asio::error::operation_aborted || !acceptor_.is_open()) return;
            return accept();
        }
        if (state_->stopping || state_->connections.load() >= limits_.connections_max) {
            // Over the cap: close at once rather than queue without bound.
            beast::error_code ignored;
            socket.close(ignored);
        } else {
            ++state_->connections;
            auto s = std::make_shared<session>(std::move(socket), limits_, app_, refuse_, state_);
            {
                std::lock_guard lock(state_->mutex);
                std::erase_if(state_->open, [](const auto& w) { return w.expired(); });
                state_->open.push_back(s);
            }
            s->run();
        }
        accept();
    });
}

void http_server::stop_accepting() {
    if (state_->stopping.exchange(true)) return;
    std::promise<void> closed;
    asio::post(acceptor_.get_executor(), [this, &closed] {
        beast::error_code ec;
        acceptor_.close(ec);
        closed.set_value();
    });
    closed.get_future().wait();
    std::vector<std::shared_ptr<connection>> open;
    {
        std::lock_guard lock(state_->mutex);
        for (const auto& w : state_->open) {
            if (auto c = w.lock()) open.push_back(std::move(c));
        }
    }
    for (const auto& c : open) c->stop_if_idle();
}

void http_server::wait_idle() {
    {
        std::unique_lock lock(state_->mutex);
        state_->idle.wait(lock, [&] { return state_->connections.load() == 0; });
    }
    work_.reset();
}

}  // namespace regledger::server
