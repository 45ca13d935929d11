#include "engine/events.h"

#include <array>
#include <utility>

namespace regledger {
namespace {

template <std::size_t... I>
constexpr std::array<std::string_view, sizeof...(I)> make_names(std::index_sequence<I...>) {
    return {std::variant_alternative_t<I, event>::type_name...};
}

constexpr auto names = make_names(std::make_index_sequence<event_type_count>{});

}  // namespace

std::optional<event_type_id> type_id_of_name(std::string_view name) noexcept {
    for (std::size_t i = 0; i < names.size(); ++i) {
        if (names[i] == name) return static_cast<event_type_id>(i + 1);
    }
    return std::nullopt;
}

std::optional<std::string_view> type_name_of_id(event_type_id id) noexcept {
    if (id == 0 || id > names.size()) return std::nullopt;
    return names[id - 1];
}

}  // namespace regledger
