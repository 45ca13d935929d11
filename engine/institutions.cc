#include "engine/institutions.h"

#include <fmt/format.h>

#include "engine/rules/reference_data.h"
#include "engine/validate.h"

namespace regledger {

result<institution_directory, rejection> institution_directory::make(std::vector<institution> list) {
    auto bad = [](std::size_t i, std::string_view field, std::string message) {
        return reject(errc::validation, std::move(message), fmt::format("/institutions/{}/{}", i, field));
    };
    std::size_t provincial = 0;
    for (std::size_t i = 0; i < list.size(); ++i) {
        const institution& inst = list[i];
        if (!is_valid_client_id(inst.id.value())) return bad(i, "id", "must match [A-Za-z0-9._-]{1,64}");
        for (std::size_t j = 0; j < i; ++j) {
            if (list[j].id == inst.id) return bad(i, "id", fmt::format("institution {} is listed twice", inst.id.value()));
        }
        if (inst.name.empty()) return bad(i, "name", "must not be empty");
        if (!rules::liaoning_region(inst.region_code)) {
            return bad(i, "region_code", fmt::format("{} is not a GB/T 2260 code of Liaoning", inst.region_code));
        }
        if (inst.level == institution_level::provincial) {
            ++provincial;
            if (inst.parent) return bad(i, "parent", "the provincial institution has no parent");
        } else {
            if (!inst.parent) return bad(i, "parent", "a municipal institution names its provincial institution");
            const auto it = std::find_if(list.begin(), list.end(), [&](const institution& p) { return p.id == *inst.parent; });
            if (it == list.end()) return bad(i, "parent", fmt::format("no institution {}", inst.parent->value()));
            if (it->level != institution_level::provincial) return bad(i, "parent", "the parent must be provincial");
        }
    }
    if (provincial > 1) return reject(errc::validation, "at most one provincial institution", "/institutions");
    institution_directory d;
    d.institutions_ = std::move(list);
    return d;
}

const institution* institution_directory::find(const institution_id& id) const noexcept {
    for (const institution& inst : institutions_) {
        if (inst.id == id) return &inst;
    }
    return nullptr;
}

}  // namespace regledger
