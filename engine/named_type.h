// named_type: a value wrapped in a distinct type so that ids, versions and
// offsets cannot be mixed up. A registration_id is not an application_id even
// though both hold a string, and a stream_version is not a log_offset.
//
// Thread-safety: a plain value type; the usual rules for const access apply.
#pragma once

#include <compare>
#include <functional>
#include <string>
#include <utility>

namespace regledger {

template <typename T, typename Tag>
class named_type {
public:
    using value_type = T;

    named_type() = default;
    explicit named_type(T value) : value_(std::move(value)) {}

    const T& value() const noexcept { return value_; }
    T& value() noexcept { return value_; }

    friend bool operator==(const named_type&, const named_type&) = default;
    friend auto operator<=>(const named_type&, const named_type&) = default;

private:
    T value_{};
};

// Strings that name things: ids chosen by clients or derived by the engine.
template <typename Tag>
using string_id = named_type<std::string, Tag>;

}  // namespace regledger

template <typename T, typename Tag>
struct std::hash<regledger::named_type<T, Tag>> {
    std::size_t operator()(const regledger::named_type<T, Tag>& v) const noexcept {
        return std::hash<T>{}(v.value());
    }
};

#if defined(__GLIBCXX__)
// libstdc++'s unordered containers store each node's hash code only when the
// hash is "slow", as it marks std::hash<std::string>; otherwise a lookup
// hashes the key of every node it passes again to find the bucket's end. A
// string id hashes as slowly as its string, so it is marked the same way:
// a lookup among the 70,000 streams of a million-event replay was a tenth of
// the replay's thread.
template <typename Tag>
struct std::__is_fast_hash<std::hash<regledger::named_type<std::string, Tag>>> : std::false_type {};
#endif
