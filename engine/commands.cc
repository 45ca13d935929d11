#include "engine/commands.h"

namespace regledger {

bool is_timeout_command(const command& c) noexcept {
    return std::holds_alternative<mark_acceptance_overdue>(c) || std::holds_alternative<mark_review_overdue>(c) ||
           std::holds_alternative<end_publicity>(c) || std::holds_alternative<open_renewal_window>(c) ||
           std::holds_alternative<expire_validity>(c);
}

}  // namespace regledger
