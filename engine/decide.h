// decide(): the whole registration lifecycle as a pure function.
//
//   decide(state, command, context) -> result<event_list, rejection>
//
// Phases, in order (each a separate function, so a rejection names the first
// thing wrong): stateless validation of what was submitted (validate.h),
// authorization of the issuer's role and institution (authorize.h), then the
// rules against the current state. A command that applies returns the events
// to append; a timeout command that is no longer relevant returns no events.
// The same state, command and context always give the same events.
//
// The context carries everything from outside the stream: the time (the
// engine never reads a clock), the rule set and calendar, the institutions,
// the issuer's own account, and the next code sequence number.
#pragma once

#include <cstdint>
#include <functional>
#include <variant>
#include <vector>

#include "engine/commands.h"
#include "engine/events.h"
#include "engine/institutions.h"
#include "engine/result.h"
#include "engine/rules/rule_set.h"
#include "engine/state.h"

namespace regledger {

struct decide_context {
    instant now;
    const rules::rule_set* rules = nullptr;
    const institution_directory* institutions = nullptr;
    // Who issues the command.
    actor issuer;
    // The issuer's account stream when the issuer is a subject (nullptr when
    // it does not exist or the issuer is not a subject).
    const account_state* issuer_account = nullptr;
    // The sequence number the next registration code of (institution, year)
    // gets; the writer keeps the counters. Only called when a code is issued.
    std::function<std::uint32_t(const institution_id&, int year)> next_code_sequence;
};

using event_list = std::vector<event>;

// Which stream a command acts on. Commands that name only an application are
// resolved to their registration by the writer (application index).
using command_target = std::variant<stream_id, application_id>;
command_target target_of(const command& c);

// Whether `first` (the first event a command appended) records exactly what
// `c` says: true for OpenAccount → AccountOpened and FileObjection →
// ObjectionFiled with the same fields, false for everything else. Callers
// without an identity all act as the same public actor; repeating such a
// command's id shows its outcome only to a caller who already knows it.
bool restates(const command& c, const event& first);

// REQUIRES: context.rules and context.institutions are set.
result<event_list, rejection> decide(const registration_state& state, const command& c, const decide_context& context);
result<event_list, rejection> decide(const account_state& state, const command& c, const decide_context& context);

}  // namespace regledger
