// The ledger on a real Kafka broker: the same behaviour as the embedded log,
// recovery from the topic, and the public topic's content.
#include <functional>
#include <set>

#include <boost/json/parse.hpp>
#include <librdkafka/rdkafkacpp.h>

#include "projections/rebuild.h"
#include "projections/verify.h"
#include "tests/kafka/kafka_env.h"
#include "tests/projections/ledger_fixture.h"

using namespace regledger;
using namespace regledger::testing;

namespace {

// Every value of the public topic, read_committed.
std::vector<std::string> public_values(const events::kafka_options& o) {
    std::string error;
    std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
    conf->set("bootstrap.servers", o.brokers, error);
    conf->set("group.id", fresh_topic("reader"), error);
    conf->set("isolation.level", "read_committed", error);
    conf->set("enable.partition.eof", "true", error);
    conf->set("auto.offset.reset", "earliest", error);
    std::unique_ptr<RdKafka::KafkaConsumer> consumer(RdKafka::KafkaConsumer::create(conf.get(), error));
    REQUIRE(consumer);
    std::vector<RdKafka::TopicPartition*> parts;
    for (int p = 0; p < o.partitions; ++p) parts.push_back(RdKafka::TopicPartition::create(o.public_topic, p, 0));
    consumer->assign(parts);
    RdKafka::TopicPartition::destroy(parts);
    std::vector<std::string> out;
    int ended = 0;
    for (int i = 0; i < 2000 && ended < o.partitions; ++i) {
        std::unique_ptr<RdKafka::Message> m(consumer->consume(100));
        if (m->err() == RdKafka::ERR_NO_ERROR) out.emplace_back(static_cast<const char*>(m->payload()), m->len());
        if (m->err() == RdKafka::ERR__PARTITION_EOF) ++ended;
    }
    consumer->close();
    return out;
}

// Keys anywhere in a JSON value.
void collect_keys(const boost::json::value& v, std::set<std::string>& keys) {
    if (v.is_object()) {
        for (const auto& [k, x] : v.get_object()) {
            keys.insert(std::string(k));
            collect_keys(x, keys);
        }
    } else if (v.is_array()) {
        for (const auto& x : v.get_array()) collect_keys(x, keys);
    }
}

}  // namespace

TEST_CASE("Kafka ledger: the procedure, a restart that replays from the topic, and a rebuild from it") {
    const auto options = kafka_test_options("ledger", 2);
    ledger_fixture f(options);
    f.make_valid("reg-1", "app-1");
    f.make_valid("reg-2", "app-2");
    f.ok(file_objection{application_id("app-2"), objection_id("o-1"), {"张三", "110101199003074514"}, "权属争议",
                        {{"证据.pdf", std::string(64, 'b')}}},
         anyone());
    f.advance("2026-03-18T00:00:00+08:00");
    f.ok(dismiss_objection{application_id("app-2"), objection_id("o-1"), "证据不足"}, clerk("LN-SY"));
    f.ok(revoke_registration{registration_id("reg-1"), revocation_grounds::false_materials, "撤销公告"},
         clerk("LN-SY"));
    CHECK(f.reads().registration(registration_id("reg-1"))->document.at("status").as_string() == "revoked");
    CHECK(f.reads().registration(registration_id("reg-2"))->document.at("status").as_string() == "valid");

    std::map<std::string_view, std::vector<std::pair<std::string, std::string>>> before;
    for (auto family : f.families()) before[family] = f.reads().dump(family);
    f.reopen();
    for (auto family : f.families()) {
        CAPTURE(family);
        CHECK(f.reads().dump(family) == before[family]);
    }
    // A repeated command id after the restart returns the first outcome.
    f.close();
    projections::rebuild_options ro;
    ro.data_dir = f.data_dir();
    ro.kafka = options;
    const auto rebuilt = projections::rebuild(ro);
    REQUIRE_MESSAGE(rebuilt.has_value(), (rebuilt ? std::string() : rebuilt.error()));
    f.open();
    for (auto family : f.families()) {
        CAPTURE(family);
        CHECK(f.reads().dump(family) == before[family]);
    }
    projections::verify_store_options vo;
    vo.data_dir = f.data_dir();
    vo.kafka = options;
    f.close();
    const auto verified = projections::verify_store(vo);
    REQUIRE_MESSAGE(verified.has_value(), (verified ? std::string() : verified.error().what));
    CHECK(verified.value().records > 10);
}

TEST_CASE("Kafka ledger: the public topic carries public facts only (第9、18、24条)") {
    const auto options = kafka_test_options("public");
    {
        ledger_fixture f(options);
        f.make_valid("reg-1", "app-1");
        f.ok(file_objection{application_id("app-1"), objection_id("o-1"), {"张三", "110101199003074514"}, "权属争议",
                            {{"证据.pdf", std::string(64, 'b')}}},
             anyone());
        f.advance("2026-03-18T00:00:00+08:00");
        f.ok(dismiss_objection{application_id("app-1"), objection_id("o-1"), "证据不足"}, clerk("LN-SY"));
        f.ok(revoke_registration{registration_id("reg-1"), revocation_grounds::false_materials, "撤销公告"},
             clerk("LN-SY"));
    }
    const auto values = public_values(options);
    std::set<std::string> types;
    const std::set<std::string> allowed{"type",        "occurred_at",  "application_id", "kind",     "data_name",
                                        "summary",     "subjects",     "publicity_start", "publicity_end", "code",
                                        "status",      "valid_from",   "valid_until",    "announcement", "grounds"};
    for (const auto& v : values) {
        const auto doc = boost::json::parse(v);
        types.insert(std::string(doc.at("type").as_string()));
        std::set<std::string> keys;
        collect_keys(doc, keys);
        for (const auto& k : keys) {
            CAPTURE(k);
            CHECK(allowed.contains(k));
        }
        // Nothing confidential by value either.
        CHECK(v.find("91350100M000100Y43") == std::string::npos);
        CHECK(v.find("110101199003074514") == std::string::npos);
        CHECK(v.find("证据") == std::string::npos);
        CHECK(v.find("证据不足") == std::string::npos);
    }
    CHECK(types == std::set<std::string>{"PublicityStarted", "PublicityEnded", "CodeIssued", "RegistrationRevoked"});
}

TEST_CASE("Kafka ledger: a second writer for the same partitions fences the first, which stops taking commands") {
    const auto options = kafka_test_options("fenced");
    temp_dir other;
    ledger_fixture first(options);
    first.ok(initial_application(), subject("acct-a"));
    // A second instance with its own read models, the same topic and id.
    institution_directory institutions = sample_institutions();
    projections::manual_clock clock(at("2026-03-02T10:00:00+08:00"));
    projections::ledger_options lo;
    lo.data_dir = other.path() / "data";
    auto second = projections::ledger::open_kafka(lo, options, clock, {&rules::rule_set::ln_2025(), &institutions, digest{}});
    REQUIRE_MESSAGE(second.has_value(), (second ? std::string() : second.error().message));
    // The second replayed what the first wrote.
    CHECK(second.value()->reads().registration(registration_id("reg-1")).has_value());
    const auto refused = first.run(accept_application{application_id("app-1")}, clerk("LN-SY"));
    CHECK(refused.result_kind == projections::command_outcome::kind::unavailable);
    CHECK(first.ledger().log().fatal());
    // And it takes no more commands at all.
    CHECK(first.run(accept_application{application_id("app-1")}, clerk("LN-SY")).result_kind ==
          projections::command_outcome::kind::unavailable);
    // Nothing was written twice: the second continues from the first's events.
    command_envelope env;
    env.command_id = command_id("after-fence");
    env.issued_by = clerk("LN-SY");
    env.body = accept_application{application_id("app-1")};
    const auto accepted = second.value()->writes().execute(env);
    CHECK(accepted.result_kind == projections::command_outcome::kind::applied);
    CHECK(accepted.version == stream_version(2));
}
