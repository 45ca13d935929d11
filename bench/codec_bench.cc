// codec_bench: how fast the event codec and the record hash are, on a mix of
// events shaped like the ledger's traffic, against baselines measured in the
// same run on the same bytes (so the figures read as ratios on any machine):
//
//   memcpy          copying the encoded records: the floor for touching them;
//   verify          the FlatBuffers verifier alone (peek_type);
//   decode          verify + read every field into the engine's structs;
//   encode          engine structs to FlatBuffers bytes;
//   sha256          SHA-256 of the canonical bytes alone;
//   hash            canonical encoding + SHA-256 (compute_hash).
//
// Usage: codec_bench [seconds per measurement, default 1]
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "engine/sha256.h"
#include "events/canonical.h"
#include "events/codec.h"
#include "tests/events/samples.h"

using namespace regledger;

namespace {

using clock_type = std::chrono::steady_clock;

// The events of registration streams in proportion to how often the
// procedure writes them: every application is submitted, accepted, reviewed,
// publicized and completed; some need a supplement, a few draw an objection,
// some are changes; accounts are opened now and then.
std::vector<event_record> traffic_mix(std::size_t streams) {
    const auto type = [](const event& e) { return type_id_of(e); };
    const std::vector<event_type_id> lifecycle = {
        type(application_submitted{}), type(application_accepted{}), type(review_passed{}),
        type(publicity_started{}),      type(publicity_ended{}),      type(code_issued{}),
    };
    std::vector<event_record> out;
    for (std::size_t s = 0; s < streams; ++s) {
        std::vector<event_type_id> ids = lifecycle;
        if (s % 5 == 0) ids.insert(ids.begin() + 1, {type(supplement_requested{}), type(materials_resubmitted{})});
        if (s % 10 == 0) ids.insert(ids.end() - 1, {type(objection_filed{}), type(objection_dismissed{})});
        if (s % 4 == 0) ids.push_back(type(registration_changed{}));
        if (s % 20 == 0) ids.insert(ids.begin(), {type(account_opened{}), type(account_verified{})});
        std::uint64_t version = 0;
        for (const auto id : ids) {
            auto rec = *samples::full_record(id);
            rec.envelope.stream_id = stream_id("reg-R2026-" + std::to_string(100000 + s));
            rec.envelope.version = stream_version(++version);
            rec.envelope.event_id = event_id(rec.envelope.stream_id.value() + "/" + std::to_string(version));
            rec.envelope.hash = events::compute_hash(rec.envelope, rec.event);
            out.push_back(std::move(rec));
        }
    }
    return out;
}

struct measurement {
    double events_per_s;
    double mb_per_s;
};

// Runs `pass` (one pass over the mix, returning a value to keep) until
// `seconds` have elapsed.
template <typename Pass>
measurement measure(double seconds, std::size_t events_per_pass, std::size_t bytes_per_pass, Pass pass) {
    volatile std::uint64_t sink = pass();  // warm-up
    std::size_t passes = 0;
    const auto start = clock_type::now();
    double elapsed = 0;
    do {
        sink = sink + pass();
        ++passes;
        elapsed = std::chrono::duration<double>(clock_type::now() - start).count();
    } while (elapsed < seconds);
    return {static_cast<double>(passes * events_per_pass) / elapsed,
            static_cast<double>(passes * bytes_per_pass) / elapsed / 1e6};
}

void print(const char* name, const measurement& m, const measurement& baseline, const char* bytes_of) {
    std::printf("%-8s %12.0f %10.1f %12.2f   %s\n", name, m.events_per_s, m.mb_per_s,
                baseline.events_per_s / m.events_per_s, bytes_of);
}

}  // namespace

int main(int argc, char** argv) {
    const double seconds = argc > 1 ? std::atof(argv[1]) : 1.0;
    if (!(seconds > 0)) {
        std::fprintf(stderr, "usage: codec_bench [seconds per measurement]\n");
        return 2;
    }

    const auto records = traffic_mix(1000);
    std::vector<std::vector<std::uint8_t>> encoded;
    std::vector<std::vector<std::uint8_t>> canonical;
    std::size_t encoded_bytes = 0, canonical_bytes = 0;
    for (const auto& rec : records) {
        encoded.push_back(events::encode(rec));
        encoded_bytes += encoded.back().size();
        canonical.push_back(events::canonical_bytes(rec.envelope, rec.event));
        canonical_bytes += canonical.back().size();
        // The benchmark measures the success path only.
        if (!events::decode(encoded.back()).has_value() || !events::hash_matches(rec)) {
            std::fprintf(stderr, "codec_bench: a sample record does not round-trip\n");
            return 1;
        }
    }
    const std::size_t n = records.size();
    std::printf("%zu events, %zu encoded bytes (%.0f per event), %zu canonical bytes (%.0f per event)\n", n,
                encoded_bytes, static_cast<double>(encoded_bytes) / static_cast<double>(n), canonical_bytes,
                static_cast<double>(canonical_bytes) / static_cast<double>(n));

    std::vector<std::uint8_t> scratch(events::record_bytes_max);
    const auto copy = measure(seconds, n, encoded_bytes, [&] {
        std::uint64_t s = 0;
        for (const auto& b : encoded) {
            std::memcpy(scratch.data(), b.data(), b.size());
            s += scratch[b.size() / 2];
        }
        return s;
    });
    const auto verify = measure(seconds, n, encoded_bytes, [&] {
        std::uint64_t s = 0;
        for (const auto& b : encoded) s += events::peek_type(b).value_or(0);
        return s;
    });
    const auto decode = measure(seconds, n, encoded_bytes, [&] {
        std::uint64_t s = 0;
        for (const auto& b : encoded) s += events::decode(b).value().envelope.version.value();
        return s;
    });
    const auto encode = measure(seconds, n, encoded_bytes, [&] {
        std::uint64_t s = 0;
        for (const auto& rec : records) s += events::encode(rec).size();
        return s;
    });
    const auto sha = measure(seconds, n, canonical_bytes, [&] {
        std::uint64_t s = 0;
        for (const auto& b : canonical) s += sha256::of(std::span<const std::uint8_t>(b))[0];
        return s;
    });
    const auto hash = measure(seconds, n, canonical_bytes, [&] {
        std::uint64_t s = 0;
        for (const auto& rec : records) s += events::compute_hash(rec.envelope, rec.event).value()[0];
        return s;
    });

    std::printf("\n%-8s %12s %10s %12s   %s\n", "", "events/s", "MB/s", "time/memcpy", "MB counted");
    print("memcpy", copy, copy, "encoded records");
    print("verify", verify, copy, "encoded records");
    print("decode", decode, copy, "encoded records");
    print("encode", encode, copy, "encoded records");
    print("sha256", sha, copy, "canonical bytes");
    print("hash", hash, copy, "canonical bytes");
    std::printf("\ndecode = %.2f x verify; hash = %.2f x sha256 alone\n", verify.events_per_s / decode.events_per_s,
                sha.events_per_s / hash.events_per_s);
    return 0;
}
