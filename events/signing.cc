#include "events/signing.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cassert>
#include <cerrno>
#include <new>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

namespace regledger::events {
namespace {

namespace fs = std::filesystem;

class signing_category_impl final : public std::error_category {
public:
    const char* name() const noexcept override { return "regledger.signing"; }
    std::string message(int value) const override {
        switch (static_cast<signing_errc>(value)) {
            case signing_errc::io: return "key file cannot be read or written (missing, not permitted, or I/O error)";
            case signing_errc::bad_key: return "not an Ed25519 key in the expected PEM form";
            case signing_errc::key_exposed:
                return "private key file grants permissions to group or others (chmod 600 it, or generate a new key)";
            case signing_errc::exists: return "key file exists already (keygen never overwrites a key)";
            case signing_errc::crypto: return "libcrypto failed";
        }
        return "signing error";
    }
};

// A key file is a few hundred bytes; anything this large is not one, and
// the limit keeps a wrong path (a log, a device) from being read whole.
constexpr std::size_t key_file_bytes_max = 64 * 1024;

struct pkey_free {
    void operator()(EVP_PKEY* k) const noexcept { EVP_PKEY_free(k); }
};
struct pkey_ctx_free {
    void operator()(EVP_PKEY_CTX* c) const noexcept { EVP_PKEY_CTX_free(c); }
};
struct md_ctx_free {
    void operator()(EVP_MD_CTX* c) const noexcept { EVP_MD_CTX_free(c); }
};
struct bio_free {
    void operator()(BIO* b) const noexcept { BIO_free(b); }
};
using pkey_ptr = std::unique_ptr<EVP_PKEY, pkey_free>;
using pkey_ctx_ptr = std::unique_ptr<EVP_PKEY_CTX, pkey_ctx_free>;
using md_ctx_ptr = std::unique_ptr<EVP_MD_CTX, md_ctx_free>;
using bio_ptr = std::unique_ptr<BIO, bio_free>;

std::error_code error(signing_errc e) noexcept { return make_error_code(e); }

// A libcrypto failure: its queue is per thread and otherwise kept, so it is
// emptied before returning the error that replaces it.
std::error_code crypto_error(signing_errc e) noexcept {
    ERR_clear_error();
    return make_error_code(e);
}

// Closes a descriptor at the end of a scope.
class fd_guard {
public:
    explicit fd_guard(int fd) noexcept : fd_(fd) {}
    ~fd_guard() {
        if (fd_ >= 0) ::close(fd_);
    }
    fd_guard(const fd_guard&) = delete;
    fd_guard& operator=(const fd_guard&) = delete;
    int get() const noexcept { return fd_; }
    // Closes now, reporting whether close() succeeded (a write error can
    // surface only here).
    bool close() noexcept {
        const int fd = fd_;
        fd_ = -1;
        return ::close(fd) == 0;
    }

private:
    int fd_;
};

// libcrypto wants a non-null pointer even for an empty message.
const unsigned char* data_of(std::span<const std::uint8_t> bytes) noexcept {
    static constexpr unsigned char empty = 0;
    return bytes.empty() ? &empty : bytes.data();
}

// The Ed25519 EVP_PKEY of a raw public key.
pkey_ptr public_pkey(const ed25519_public& raw) noexcept {
    return pkey_ptr(EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, raw.data(), raw.size()));
}

bool is_ed25519(const EVP_PKEY* key) noexcept { return EVP_PKEY_get_base_id(key) == EVP_PKEY_ED25519; }

// The file's id: the first 8 bytes of SHA-256 over the raw public key.
result<std::string> key_id_of(const ed25519_public& raw) {
    std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
    unsigned int size = 0;
    if (EVP_Digest(raw.data(), raw.size(), digest.data(), &size, EVP_sha256(), nullptr) != 1 || size != 32) {
        return failure(crypto_error(signing_errc::crypto));
    }
    return hex_of(std::span<const std::uint8_t>(digest.data(), 8));
}

result<ed25519_public> raw_public_of(const EVP_PKEY* key) {
    ed25519_public raw{};
    std::size_t size = raw.size();
    if (EVP_PKEY_get_raw_public_key(key, raw.data(), &size) != 1 || size != raw.size()) {
        return failure(crypto_error(signing_errc::bad_key));
    }
    return raw;
}

// Reads at most key_file_bytes_max from an open descriptor: bad_key beyond.
result<std::string> read_key_file(int fd) {
    // Reserved once, so that growing never leaves a copy of a private key
    // behind in freed memory.
    std::string text;
    text.reserve(key_file_bytes_max);
    char buffer[4096];
    for (;;) {
        const auto n = ::read(fd, buffer, sizeof buffer);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            OPENSSL_cleanse(text.data(), text.size());
            return failure(error(signing_errc::io));
        }
        if (n == 0) break;
        if (text.size() + static_cast<std::size_t>(n) > key_file_bytes_max) {
            OPENSSL_cleanse(text.data(), text.size());
            OPENSSL_cleanse(buffer, sizeof buffer);
            return failure(error(signing_errc::bad_key));
        }
        text.append(buffer, static_cast<std::size_t>(n));
    }
    OPENSSL_cleanse(buffer, sizeof buffer);
    return text;
}

// Keys are never encrypted here: with no callback libcrypto would prompt on
// the terminal, which would hang a daemon. An encrypted key is bad_key.
int refuse_passphrase(char*, int, int, void*) { return -1; }

// Creates `path` exclusively with exactly `mode` (whatever the umask), writes
// `bytes` and syncs them. On failure after creating it, removes it again.
result<void> create_key_file(const fs::path& path, mode_t mode, const char* bytes, std::size_t size) {
    // O_EXCL: never replaces a file, and with O_CREAT never follows a
    // symbolic link, so a planted link cannot redirect the key elsewhere.
    fd_guard fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode));
    if (fd.get() < 0) return failure(error(errno == EEXIST ? signing_errc::exists : signing_errc::io));
    bool ok = ::fchmod(fd.get(), mode) == 0;
    for (std::size_t written = 0; ok && written < size;) {
        const auto n = ::write(fd.get(), bytes + written, size - written);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            ok = false;
            break;
        }
        written += static_cast<std::size_t>(n);
    }
    ok = ok && ::fsync(fd.get()) == 0;
    ok = fd.close() && ok;
    if (!ok) {
        ::unlink(path.c_str());
        return failure(error(signing_errc::io));
    }
    return success();
}

// Makes the new directory entries of `file` durable.
bool sync_directory_of(const fs::path& file) noexcept {
    const fs::path dir = file.has_parent_path() ? file.parent_path() : fs::path(".");
    fd_guard fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    return fd.get() >= 0 && ::fsync(fd.get()) == 0;
}

// exists when something (even a dangling link) is at `path`.
result<void> require_absent(const fs::path& path) {
    struct stat st {};
    if (::lstat(path.c_str(), &st) == 0) return failure(error(signing_errc::exists));
    if (errno != ENOENT) return failure(error(signing_errc::io));
    return success();
}

}  // namespace

const std::error_category& signing_category() noexcept {
    static const signing_category_impl category;
    return category;
}

// ---------------------------------------------------------------------------
// verify_key

result<verify_key> verify_key::from_raw(const ed25519_public& raw) {
    if (public_pkey(raw) == nullptr) return failure(crypto_error(signing_errc::bad_key));
    BOOST_OUTCOME_TRY(auto id, key_id_of(raw));
    verify_key out;
    out.raw_ = raw;
    out.id_ = std::move(id);
    return out;
}

result<verify_key> verify_key::parse(std::string_view pem) {
    // Empty text may have no address, which BIO_new_mem_buf refuses.
    if (pem.empty() || pem.size() > key_file_bytes_max) return failure(error(signing_errc::bad_key));
    const bio_ptr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
    if (bio == nullptr) return failure(crypto_error(signing_errc::crypto));
    const pkey_ptr key(PEM_read_bio_PUBKEY(bio.get(), nullptr, refuse_passphrase, nullptr));
    if (key == nullptr || !is_ed25519(key.get())) return failure(crypto_error(signing_errc::bad_key));
    BOOST_OUTCOME_TRY(const auto raw, raw_public_of(key.get()));
    return from_raw(raw);
}

result<verify_key> verify_key::load(const std::filesystem::path& pem_file) {
    fd_guard fd(::open(pem_file.c_str(), O_RDONLY | O_CLOEXEC));
    if (fd.get() < 0) return failure(error(signing_errc::io));
    BOOST_OUTCOME_TRY(const auto text, read_key_file(fd.get()));
    return parse(text);
}

std::string verify_key::pem() const {
    const pkey_ptr key = public_pkey(raw_);
    const bio_ptr bio(BIO_new(BIO_s_mem()));
    char* data = nullptr;
    long size = 0;
    // from_raw() built this key once already, so what fails here is memory.
    if (key == nullptr || bio == nullptr || PEM_write_bio_PUBKEY(bio.get(), key.get()) != 1 ||
        (size = BIO_get_mem_data(bio.get(), &data)) <= 0) {
        ERR_clear_error();
        throw std::bad_alloc();
    }
    return std::string(data, static_cast<std::size_t>(size));
}

bool verify_key::verify(std::span<const std::uint8_t> message, const ed25519_signature& signature) const noexcept {
    // The EVP_PKEY is made for each call rather than kept: verify_key stays
    // a plain copyable value, and verifying is rare (auditors, checkpoints).
    const pkey_ptr key = public_pkey(raw_);
    const md_ctx_ptr ctx(EVP_MD_CTX_new());
    // Ed25519 is "pure": no digest is named, the message is signed whole.
    const bool ok = key != nullptr && ctx != nullptr &&
                    EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, key.get()) == 1 &&
                    EVP_DigestVerify(ctx.get(), signature.data(), signature.size(), data_of(message),
                                     message.size()) == 1;
    if (!ok) ERR_clear_error();
    return ok;
}

// ---------------------------------------------------------------------------
// signing_key

struct signing_key::impl {
    pkey_ptr key;
};

signing_key::signing_key(signing_key&&) noexcept = default;
signing_key& signing_key::operator=(signing_key&&) noexcept = default;
signing_key::~signing_key() = default;

result<void> signing_key::generate(const std::filesystem::path& private_file,
                                   const std::filesystem::path& public_file) {
    // Checked first so that an existing public key never costs a fresh
    // private one; the exclusive creates below still decide a race.
    BOOST_OUTCOME_TRY(require_absent(private_file));
    BOOST_OUTCOME_TRY(require_absent(public_file));

    // The key's 32 random bytes come from libcrypto's DRBG, seeded by the OS.
    const pkey_ctx_ptr ctx(EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, nullptr));
    EVP_PKEY* generated = nullptr;
    if (ctx == nullptr || EVP_PKEY_keygen_init(ctx.get()) != 1 || EVP_PKEY_keygen(ctx.get(), &generated) != 1) {
        return failure(crypto_error(signing_errc::crypto));
    }
    const pkey_ptr key(generated);

    // The private PEM goes through a secure-memory BIO, cleared when freed.
    const bio_ptr private_pem(BIO_new(BIO_s_secmem()));
    const bio_ptr public_pem(BIO_new(BIO_s_mem()));
    char* private_data = nullptr;
    char* public_data = nullptr;
    long private_size = 0;
    long public_size = 0;
    // No cipher: PKCS#8 PrivateKeyInfo, "-----BEGIN PRIVATE KEY-----".
    if (private_pem == nullptr || public_pem == nullptr ||
        PEM_write_bio_PrivateKey(private_pem.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1 ||
        PEM_write_bio_PUBKEY(public_pem.get(), key.get()) != 1 ||
        (private_size = BIO_get_mem_data(private_pem.get(), &private_data)) <= 0 ||
        (public_size = BIO_get_mem_data(public_pem.get(), &public_data)) <= 0) {
        return failure(crypto_error(signing_errc::crypto));
    }

    BOOST_OUTCOME_TRY(
        create_key_file(private_file, S_IRUSR | S_IWUSR, private_data, static_cast<std::size_t>(private_size)));
    // The public key is for handing out: 0644 whatever the umask.
    if (auto written = create_key_file(public_file, S_IRUSR | S_IWUSR | S_IRGRP | S_IROTH, public_data,
                                       static_cast<std::size_t>(public_size));
        !written) {
        ::unlink(private_file.c_str());
        return failure(written.error());
    }
    if (!sync_directory_of(private_file) || !sync_directory_of(public_file)) {
        ::unlink(private_file.c_str());
        ::unlink(public_file.c_str());
        return failure(error(signing_errc::io));
    }
    return success();
}

result<signing_key> signing_key::load(const std::filesystem::path& private_file) {
    fd_guard fd(::open(private_file.c_str(), O_RDONLY | O_CLOEXEC));
    if (fd.get() < 0) return failure(error(signing_errc::io));
    // The mode of the file opened, not of the path looked up a moment
    // earlier (the two may differ if the file is replaced in between).
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) return failure(error(signing_errc::io));
    if (!S_ISREG(st.st_mode)) return failure(error(signing_errc::bad_key));
    if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) return failure(error(signing_errc::key_exposed));

    BOOST_OUTCOME_TRY(auto text, read_key_file(fd.get()));
    const bio_ptr bio(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
    pkey_ptr key;
    if (bio != nullptr) key.reset(PEM_read_bio_PrivateKey(bio.get(), nullptr, refuse_passphrase, nullptr));
    OPENSSL_cleanse(text.data(), text.size());
    if (bio == nullptr) return failure(crypto_error(signing_errc::crypto));
    if (key == nullptr || !is_ed25519(key.get())) return failure(crypto_error(signing_errc::bad_key));

    BOOST_OUTCOME_TRY(const auto raw, raw_public_of(key.get()));
    BOOST_OUTCOME_TRY(auto public_key, verify_key::from_raw(raw));
    signing_key out;
    out.impl_ = std::make_unique<impl>(impl{std::move(key)});
    out.public_ = std::move(public_key);
    return out;
}

result<ed25519_signature> signing_key::sign(std::span<const std::uint8_t> message) const {
    assert(impl_ != nullptr && "signing_key used after being moved from");
    ed25519_signature signature{};
    std::size_t size = signature.size();
    const md_ctx_ptr ctx(EVP_MD_CTX_new());
    // Each call has its own context; the EVP_PKEY is only read, so threads
    // may sign at once.
    if (ctx == nullptr || EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, impl_->key.get()) != 1 ||
        EVP_DigestSign(ctx.get(), signature.data(), &size, data_of(message), message.size()) != 1 ||
        size != signature.size()) {
        return failure(crypto_error(signing_errc::crypto));
    }
    return signature;
}

// ---------------------------------------------------------------------------
// hex

std::string hex_of(std::span<const std::uint8_t> bytes) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    out.reserve(bytes.size() * 2);
    for (const auto b : bytes) {
        out.push_back(digits[b >> 4]);
        out.push_back(digits[b & 0xf]);
    }
    return out;
}

std::optional<std::vector<std::uint8_t>> bytes_of_hex(std::string_view hex) {
    if (hex.size() % 2 != 0) return std::nullopt;
    const auto nibble = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        return -1;
    };
    std::vector<std::uint8_t> out;
    out.reserve(hex.size() / 2);
    for (std::size_t i = 0; i < hex.size(); i += 2) {
        const int high = nibble(hex[i]);
        const int low = nibble(hex[i + 1]);
        if (high < 0 || low < 0) return std::nullopt;
        out.push_back(static_cast<std::uint8_t>(high << 4 | low));
    }
    return out;
}

}  // namespace regledger::events
