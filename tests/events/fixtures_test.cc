// Frozen v1 fixtures (tests/fixtures/README.md): for every event type, the
// encoding of its full sample as written by schema version 1.
//
//   REGLEDGER_WRITE_FIXTURES=1 ctest -R fixtures   writes them (once, before a
//   schema version is released; never afterwards).
#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "events/canonical.h"
#include "events/codec.h"
#include "tests/events/samples.h"

using namespace regledger;
using namespace regledger::events;

namespace {

std::filesystem::path fixture_path(event_type_id id) {
    return std::filesystem::path(REGLEDGER_FIXTURES_DIR) / "v1" / fmt::format("{:02}-{}.bin", id, *type_name_of_id(id));
}

bool writing_fixtures() {
    const char* v = std::getenv("REGLEDGER_WRITE_FIXTURES");
    return v != nullptr && std::string(v) == "1";
}

}  // namespace

TEST_CASE("v1 fixtures still decode to the samples they were written from") {
    for (event_type_id id = 1; id <= event_type_count; ++id) {
        CAPTURE(*type_name_of_id(id));
        const auto sample = samples::full_record(id);
        REQUIRE_MESSAGE(sample, "no full sample for this event type");
        const auto path = fixture_path(id);

        if (writing_fixtures()) {
            std::filesystem::create_directories(path.parent_path());
            const auto bytes = encode(*sample);
            std::ofstream out(path, std::ios::binary | std::ios::trunc);
            out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
            REQUIRE(out.good());
            MESSAGE("wrote ", path.string());
            continue;
        }

        std::ifstream in(path, std::ios::binary);
        REQUIRE_MESSAGE(in.good(), "missing fixture ", path.string());
        const std::vector<std::uint8_t> bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};

        const auto decoded = decode(bytes);
        REQUIRE_MESSAGE(decoded.has_value(), decoded.error().message());
        CHECK(decoded.value() == *sample);
        CHECK(hash_matches(decoded.value()));
        CHECK(peek_type(bytes) == id);
        // Holds for the current schema version's fixtures only: older ones
        // need only decode.
        CHECK(encode(*sample) == bytes);
    }
}
