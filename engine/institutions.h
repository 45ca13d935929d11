// Registration institutions (登记机构, 第5、7条): the provincial data center
// and one municipal institution per city. They come from the configuration
// file, not from a stream; the engine receives them as a directory.
//
// Thread-safety: immutable after construction; share freely.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <boost/describe/class.hpp>

#include "engine/ids.h"
#include "engine/result.h"
#include "engine/vocabulary.h"

namespace regledger {

struct institution {
    regledger::institution_id id;
    std::string name;
    institution_level level = institution_level::municipal;
    // GB/T 2260: 210000 for the province, 2101xx … for the cities.
    std::string region_code;
    // The provincial institution a municipal one files revocations with.
    std::optional<regledger::institution_id> parent;

    friend bool operator==(const institution&, const institution&) = default;
};
BOOST_DESCRIBE_STRUCT(institution, (), (id, name, level, region_code, parent))

class institution_directory {
public:
    institution_directory() = default;
    // Checks ids are unique, region codes are GB/T 2260 codes, each municipal
    // institution names an existing provincial parent and the provincial one
    // has none. The rejection's field points into the list
    // ("/institutions/3/parent").
    static result<institution_directory, rejection> make(std::vector<institution> institutions);

    const institution* find(const regledger::institution_id& id) const noexcept;
    const std::vector<institution>& all() const noexcept { return institutions_; }

private:
    std::vector<institution> institutions_;
};

}  // namespace regledger
