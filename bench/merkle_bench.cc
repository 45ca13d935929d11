// merkle_bench: the log's Merkle tree (events/merkle.h) on records shaped
// like the ledger's, each figure beside a baseline measured in the same run:
//
//   append      leaf_hash + frontier::append of --leaves records of 500-700
//               bytes (mean 600), on one thread, without and with keeping
//               every completed node in an in-memory store; baseline: plain
//               SHA-256 (libcrypto, one reused context) of the same bytes.
//               Goal: >= 300,000 leaf hash + append per second.
//   proofs      inclusion_proof, consistency_proof (to the full size) and
//               root_of at size --leaves, from that store (a vector per
//               level, filled by on_node): p50/p99 per call.
//   verify      verify_inclusion and verify_consistency of those proofs:
//               p50/p99 per call.
//
// Records come from a pool of up to 65,536 distinct random records (about
// 40 MB, more than the caches hold), cycled, so that a large --leaves does
// not need its whole log in memory. Rates are given by wall time and by the
// thread's CPU time, which moves far less on a shared machine.
//
// Usage: merkle_bench [--quick] [--leaves N] [--proofs N]
//   defaults: 1,000,000 leaves, 10,000 proofs of each kind;
//   --quick: 20,000 leaves, 2,000 proofs (a smoke run; figures mean little).
#include <time.h>

#include <openssl/evp.h>

#include <algorithm>
#include <bit>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "events/merkle.h"

using namespace regledger;
namespace merkle = regledger::events::merkle;

namespace {

using steady = std::chrono::steady_clock;

double seconds_since(steady::time_point start) { return std::chrono::duration<double>(steady::now() - start).count(); }

// CPU time of this thread, in seconds.
double thread_cpu_s() {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

std::string grouped(double value) {
    std::string digits = std::to_string(static_cast<std::uint64_t>(std::llround(value)));
    std::string out;
    for (std::size_t i = 0; i < digits.size(); ++i) {
        if (i > 0 && (digits.size() - i) % 3 == 0) out.push_back(',');
        out.push_back(digits[i]);
    }
    return out;
}

struct options {
    std::uint64_t leaves = 1'000'000;
    std::size_t proofs = 10'000;
    bool quick = false;
};

[[noreturn]] void usage(const std::string& problem) {
    fmt::print(stderr, "merkle_bench: {}\nusage: merkle_bench [--quick] [--leaves N] [--proofs N]\n", problem);
    std::exit(2);
}

options parse(int argc, char** argv) {
    options o;
    std::optional<std::uint64_t> leaves, proofs;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        const auto number = [&]() -> std::uint64_t {
            if (i + 1 >= argc) usage(arg + " needs a number");
            char* end = nullptr;
            const std::string value = argv[++i];
            const unsigned long long v = std::strtoull(value.c_str(), &end, 10);
            if (value.empty() || *end != '\0' || v == 0) usage(arg + ": not a positive number: " + value);
            return v;
        };
        if (arg == "--quick") {
            o.quick = true;
        } else if (arg == "--leaves") {
            leaves = number();
        } else if (arg == "--proofs") {
            proofs = number();
        } else {
            usage("unknown argument " + arg);
        }
    }
    if (o.quick) {
        o.leaves = 20'000;
        o.proofs = 2'000;
    }
    if (leaves) o.leaves = *leaves;
    if (proofs) o.proofs = static_cast<std::size_t>(*proofs);
    return o;
}

// Prints a progress line on stderr at most every 2 s.
class progress_line {
public:
    progress_line() : last_(steady::now()) {}
    template <typename... Args>
    void maybe(fmt::format_string<Args...> format, Args&&... args) {
        if (seconds_since(last_) < 2.0) return;
        last_ = steady::now();
        fmt::print(stderr, format, std::forward<Args>(args)...);
    }

private:
    steady::time_point last_;
};

// The records: a pool of distinct random byte strings, cycled.
class record_pool {
public:
    explicit record_pool(std::uint64_t leaves) {
        std::mt19937_64 random(20260101);
        std::uniform_int_distribution<std::size_t> length(500, 700);
        const std::size_t count = static_cast<std::size_t>(std::min<std::uint64_t>(leaves, 65'536));
        records_.reserve(count);
        for (std::size_t i = 0; i < count; ++i) {
            std::vector<std::uint8_t> r(length(random));
            for (auto& b : r) b = static_cast<std::uint8_t>(random());
            bytes_ += r.size();
            records_.push_back(std::move(r));
        }
    }
    std::span<const std::uint8_t> operator[](std::uint64_t i) const {
        const auto& r = records_[static_cast<std::size_t>(i % records_.size())];
        return {r.data(), r.size()};
    }
    double mean_bytes() const { return static_cast<double>(bytes_) / static_cast<double>(records_.size()); }
    std::size_t size() const { return records_.size(); }

private:
    std::vector<std::vector<std::uint8_t>> records_;
    std::uint64_t bytes_ = 0;
};

// Every node on_node reports: nodes_[level][index].
class node_store {
public:
    void put(unsigned level, std::uint64_t index, const merkle::hash& h) {
        if (levels_.size() <= level) levels_.resize(level + 1);
        auto& row = levels_[level];
        if (row.size() != index) {
            fmt::print(stderr, "merkle_bench: node ({}, {}) reported out of order\n", level, index);
            std::exit(1);
        }
        row.push_back(h);
    }
    std::optional<merkle::hash> get(unsigned level, std::uint64_t index) const {
        if (level >= levels_.size() || index >= levels_[level].size()) return std::nullopt;
        return levels_[level][static_cast<std::size_t>(index)];
    }
    merkle::node_source source() const {
        return [this](unsigned level, std::uint64_t index) { return get(level, index); };
    }
    std::uint64_t count() const {
        std::uint64_t n = 0;
        for (const auto& row : levels_) n += row.size();
        return n;
    }

private:
    std::vector<std::vector<merkle::hash>> levels_;
};

// SHA-256 of the bytes alone, as libcrypto does it at its fastest from this
// library's side: one context, reused.
class plain_sha256 {
public:
    plain_sha256()
        : md_(EVP_MD_fetch(nullptr, "SHA256", nullptr), &EVP_MD_free), context_(EVP_MD_CTX_new(), &EVP_MD_CTX_free) {}
    merkle::hash of(std::span<const std::uint8_t> bytes) {
        merkle::hash out;
        unsigned int size = 0;
        if (EVP_DigestInit_ex(context_.get(), md_.get(), nullptr) != 1 ||
            EVP_DigestUpdate(context_.get(), bytes.data(), bytes.size()) != 1 ||
            EVP_DigestFinal_ex(context_.get(), out.data(), &size) != 1) {
            fmt::print(stderr, "merkle_bench: libcrypto SHA-256 failed\n");
            std::exit(1);
        }
        return out;
    }

private:
    std::unique_ptr<EVP_MD, decltype(&EVP_MD_free)> md_;
    std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> context_;
};

struct rate {
    double wall_s = 0;
    double cpu_s = 0;
    std::uint64_t events = 0;
    double per_s_wall() const { return static_cast<double>(events) / wall_s; }
    double per_s_cpu() const { return static_cast<double>(events) / cpu_s; }
    double ns_per_event_cpu() const { return cpu_s * 1e9 / static_cast<double>(events); }
};

// Runs step(i) for i in [0, n) with progress, timing the whole loop.
template <typename Step>
rate timed_loop(const char* what, std::uint64_t n, Step step) {
    progress_line progress;
    const auto wall_start = steady::now();
    const double cpu_start = thread_cpu_s();
    for (std::uint64_t i = 0; i < n; ++i) {
        step(i);
        if ((i & 0xffff) == 0) {
            progress.maybe("  {}: {} / {}\n", what, grouped(static_cast<double>(i)), grouped(static_cast<double>(n)));
        }
    }
    return {seconds_since(wall_start), thread_cpu_s() - cpu_start, n};
}

struct latency {
    double p50_us = 0;
    double p99_us = 0;
    double max_us = 0;
};

latency percentiles(std::vector<double> ns) {
    std::sort(ns.begin(), ns.end());
    const auto at = [&](double q) {
        const double rank = std::floor(q * static_cast<double>(ns.size()));
        const auto i = static_cast<std::size_t>(std::min(static_cast<double>(ns.size() - 1), rank));
        return ns[i] / 1e3;
    };
    return {at(0.50), at(0.99), ns.back() / 1e3};
}

// Times call(k) for k in [0, count): one measurement per call.
template <typename Call>
latency timed_calls(const char* what, std::size_t count, Call call) {
    std::vector<double> ns;
    ns.reserve(count);
    progress_line progress;
    for (std::size_t k = 0; k < count; ++k) {
        const auto start = steady::now();
        call(k);
        ns.push_back(std::chrono::duration<double, std::nano>(steady::now() - start).count());
        progress.maybe("  {}: {} / {}\n", what, k, count);
    }
    return percentiles(std::move(ns));
}

// Keeps a value (the hashes a timed loop folds into it) from being optimized
// away, as benchmark libraries' DoNotOptimize does.
template <typename T>
void do_not_optimize(const T& value) {
    asm volatile("" : : "r,m"(value) : "memory");
}

void fail(const std::string& what) {
    fmt::print(stderr, "merkle_bench: {}\n", what);
    std::exit(1);
}

}  // namespace

int main(int argc, char** argv) {
    const options o = parse(argc, argv);
    const std::uint64_t n = o.leaves;

    fmt::print(stderr, "generating the record pool...\n");
    const record_pool pool(n);
    fmt::print("merkle_bench: {} leaves of 500-700 bytes (mean {:.0f}), from a pool of {} records; one thread\n",
               grouped(static_cast<double>(n)), pool.mean_bytes(), grouped(static_cast<double>(pool.size())));
    const double mb = static_cast<double>(n) * pool.mean_bytes() / 1e6;

    // ---- append ----------------------------------------------------------
    fmt::print(stderr, "append phase: {} leaves, three passes\n", grouped(static_cast<double>(n)));
    std::uint64_t sink = 0;
    plain_sha256 sha;
    // A warm-up over the pool, so the first pass does not pay for page faults.
    for (std::size_t i = 0; i < pool.size(); ++i) sink += sha.of(pool[i])[0];
    const rate baseline = timed_loop("sha256", n, [&](std::uint64_t i) { sink += sha.of(pool[i])[0]; });

    merkle::frontier bare;
    const rate append =
        timed_loop("leaf_hash + append", n, [&](std::uint64_t i) { bare.append(merkle::leaf_hash(pool[i])); });

    merkle::frontier stored;
    node_store store;
    const merkle::frontier::on_node keep = [&store](unsigned level, std::uint64_t index, const merkle::hash& h) {
        store.put(level, index, h);
    };
    const rate append_store = timed_loop("leaf_hash + append + store", n, [&](std::uint64_t i) {
        stored.append(merkle::leaf_hash(pool[i]), keep);
    });
    if (!(bare == stored)) fail("the two frontiers disagree");
    const auto root = merkle::root_of(n, store.source());
    if (!root || root.value() != stored.root()) fail("root_of from the store is not the frontier's root");

    // ---- proofs and verification ------------------------------------------
    fmt::print(stderr, "proof phase: {} proofs of each kind at size {}\n", o.proofs, grouped(static_cast<double>(n)));
    std::mt19937_64 random(7);
    std::vector<std::uint64_t> indexes(o.proofs), firsts(o.proofs);
    for (auto& i : indexes) i = random() % n;
    for (auto& f : firsts) f = 1 + random() % n;
    const auto source = store.source();
    const merkle::hash expected_root = stored.root();

    std::vector<std::vector<merkle::hash>> inclusion(o.proofs), consistency(o.proofs);
    const latency inclusion_latency = timed_calls("inclusion_proof", o.proofs, [&](std::size_t k) {
        auto p = merkle::inclusion_proof(indexes[k], n, source);
        if (!p) fail("inclusion_proof: " + p.error().message());
        inclusion[k] = std::move(p).value();
    });
    const latency consistency_latency = timed_calls("consistency_proof", o.proofs, [&](std::size_t k) {
        auto p = merkle::consistency_proof(firsts[k], n, source);
        if (!p) fail("consistency_proof: " + p.error().message());
        consistency[k] = std::move(p).value();
    });
    const latency root_latency = timed_calls("root_of", o.proofs, [&](std::size_t) {
        auto r = merkle::root_of(n, source);
        if (!r) fail("root_of: " + r.error().message());
        sink += r.value()[0];
    });

    // The first roots and the leaf hashes the verifier is given, computed
    // beforehand: they come with the proof, they are not part of checking it.
    std::vector<merkle::hash> leaves(o.proofs), first_roots(o.proofs);
    for (std::size_t k = 0; k < o.proofs; ++k) {
        leaves[k] = merkle::leaf_hash(pool[indexes[k]]);
        first_roots[k] = merkle::root_of(firsts[k], source).value();
    }
    const latency verify_inclusion_latency = timed_calls("verify_inclusion", o.proofs, [&](std::size_t k) {
        if (!merkle::verify_inclusion(indexes[k], n, leaves[k], inclusion[k], expected_root)) {
            fail("an inclusion proof did not verify");
        }
    });
    const latency verify_consistency_latency = timed_calls("verify_consistency", o.proofs, [&](std::size_t k) {
        if (!merkle::verify_consistency(firsts[k], n, first_roots[k], expected_root, consistency[k])) {
            fail("a consistency proof did not verify");
        }
    });
    std::size_t inclusion_hashes = 0, consistency_hashes = 0;
    for (const auto& p : inclusion) inclusion_hashes += p.size();
    for (const auto& p : consistency) consistency_hashes += p.size();

    // ---- report -----------------------------------------------------------
    fmt::print("\n{:<30} {:>14} {:>14} {:>10} {:>9} {:>12}\n", "append (one thread)", "events/s wall", "events/s CPU",
               "ns/event", "MB/s CPU", "CPU/sha256");
    const auto row = [&](const char* name, const rate& r) {
        fmt::print("{:<30} {:>14} {:>14} {:>10.0f} {:>9.0f} {:>12.2f}\n", name, grouped(r.per_s_wall()),
                   grouped(r.per_s_cpu()), r.ns_per_event_cpu(), mb / r.cpu_s, r.cpu_s / baseline.cpu_s);
    };
    row("sha256 (baseline)", baseline);
    row("leaf_hash + append", append);
    row("leaf_hash + append + store", append_store);

    fmt::print("\n{:<30} {:>10} {:>10} {:>10} {:>12}\n", "at size " + grouped(static_cast<double>(n)), "p50 us",
               "p99 us", "max us", "hashes");
    const auto lat = [](const char* name, const latency& l, double hashes) {
        fmt::print("{:<30} {:>10.2f} {:>10.2f} {:>10.1f} {:>12.1f}\n", name, l.p50_us, l.p99_us, l.max_us, hashes);
    };
    const double per_proof = static_cast<double>(o.proofs);
    lat("inclusion_proof", inclusion_latency, static_cast<double>(inclusion_hashes) / per_proof);
    lat("consistency_proof", consistency_latency, static_cast<double>(consistency_hashes) / per_proof);
    lat("root_of", root_latency, static_cast<double>(std::popcount(n)));
    lat("verify_inclusion", verify_inclusion_latency, static_cast<double>(inclusion_hashes) / per_proof);
    lat("verify_consistency", verify_consistency_latency, static_cast<double>(consistency_hashes) / per_proof);

    constexpr double goal_per_s = 300'000;
    fmt::print("\nsummary: leaf_hash + append {} /s by CPU ({} /s wall), {:.2f} x the time of SHA-256 alone; goal "
               ">= {} /s: {}\n",
               grouped(append.per_s_cpu()), grouped(append.per_s_wall()), append.cpu_s / baseline.cpu_s,
               grouped(goal_per_s), append.per_s_cpu() >= goal_per_s ? "met" : "NOT met");
    fmt::print("         {} nodes stored ({:.0f} MB); proofs at size {}: inclusion p50 {:.1f} us, consistency p50 "
               "{:.1f} us, verification p50 {:.1f} / {:.1f} us\n",
               grouped(static_cast<double>(store.count())), static_cast<double>(store.count()) * 32 / 1e6,
               grouped(static_cast<double>(n)), inclusion_latency.p50_us, consistency_latency.p50_us,
               verify_inclusion_latency.p50_us, verify_consistency_latency.p50_us);
    do_not_optimize(sink);
    return 0;
}
