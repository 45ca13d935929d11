// Type traits shared by the generic walks over the engine's value types: the
// FlatBuffers codec (events/codec.cc) and the canonical hash encoding
// (events/canonical.cc). Both walk a struct's members with Boost.Describe and
// classify each member type with these traits, so the two agree on what a
// "field" is.
//
// Thread-safety: compile-time only.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include <boost/describe/enumerators.hpp>
#include <boost/describe/members.hpp>
#include <boost/describe/modifiers.hpp>
#include <boost/mp11/algorithm.hpp>

#include "engine/ids.h"
#include "engine/named_type.h"
#include "engine/time.h"

namespace regledger::events::detail {

template <typename T>
struct is_optional : std::false_type {};
template <typename T>
struct is_optional<std::optional<T>> : std::true_type {};
template <typename T>
inline constexpr bool is_optional_v = is_optional<T>::value;

template <typename T>
struct is_vector : std::false_type {};
template <typename T>
struct is_vector<std::vector<T>> : std::true_type {};
template <typename T>
inline constexpr bool is_vector_v = is_vector<T>::value;

template <typename T>
struct is_named_type : std::false_type {};
template <typename T, typename Tag>
struct is_named_type<named_type<T, Tag>> : std::true_type {};
template <typename T>
inline constexpr bool is_named_type_v = is_named_type<T>::value;

// A struct whose public members are described with BOOST_DESCRIBE_STRUCT.
template <typename T>
inline constexpr bool is_described_struct_v =
    std::is_class_v<T> && boost::describe::has_describe_members<T>::value;

// An enum described with BOOST_DESCRIBE_ENUM.
template <typename T>
inline constexpr bool is_described_enum_v = std::is_enum_v<T> && boost::describe::has_describe_enumerators<T>::value;

template <typename T>
using public_members = boost::describe::describe_members<T, boost::describe::mod_public>;

template <typename T>
inline constexpr std::size_t member_count_v = boost::mp11::mp_size<public_members<T>>::value;

template <typename P>
struct member_pointer_traits;
template <typename C, typename M>
struct member_pointer_traits<M C::*> {
    using type = M;
};

// The type of the member a Boost.Describe member descriptor D names.
template <typename D>
using member_type_t = typename member_pointer_traits<std::remove_cv_t<decltype(D::pointer)>>::type;

// Whether `value` is one of E's described enumerators.
template <typename E>
bool is_enumerator(E value) noexcept {
    bool found = false;
    boost::mp11::mp_for_each<boost::describe::describe_enumerators<E>>([&](auto d) { found = found || d.value == value; });
    return found;
}

template <typename E>
inline constexpr std::size_t enumerator_count_v = boost::mp11::mp_size<boost::describe::describe_enumerators<E>>::value;

// Calls f(descriptor, index) for every public member of T, in declaration order.
template <typename T, typename F>
void for_each_member(F&& f) {
    std::size_t index = 0;
    boost::mp11::mp_for_each<public_members<T>>([&](auto d) { f(d, index++); });
}

}  // namespace regledger::events::detail
