#include "engine/result.h"

namespace regledger {

std::string_view api_code(errc code) noexcept {
    switch (code) {
        case errc::malformed: return "MALFORMED";
        case errc::validation: return "VALIDATION";
        case errc::unauthenticated: return "UNAUTHENTICATED";
        case errc::forbidden: return "FORBIDDEN";
        case errc::not_found: return "NOT_FOUND";
        case errc::invalid_state: return "INVALID_STATE";
        case errc::conflict: return "CONFLICT";
        case errc::renewal_window_closed: return "RENEWAL_WINDOW_CLOSED";
        case errc::unavailable: return "UNAVAILABLE";
    }
    return "UNKNOWN";
}

namespace {

class domain_category_impl final : public std::error_category {
public:
    const char* name() const noexcept override { return "regledger.domain"; }
    std::string message(int value) const override { return std::string(api_code(static_cast<errc>(value))); }
};

}  // namespace

const std::error_category& domain_category() noexcept {
    static const domain_category_impl category;
    return category;
}

}  // namespace regledger
