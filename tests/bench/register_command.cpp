// job_load register: fills discovery with registrations as fast as a few keep-alive threads can.
#include <atomic>
#include <chrono>
#include <cstdio>
#include <thread>

#include "commands.h"
#include "csp/json/json.h"
#include "flags.h"
#include "measure.h"

namespace csp::bench {

namespace {

struct RegisterOptions {
  std::string discovery;
  int64_t count = 0;
  int64_t threads = 4;
  std::string prefix = "bench";
  std::string tag = "bench";
  int64_t tag_groups = 0;
};

Result<RegisterOptions> ParseRegisterOptions(const std::vector<std::string>& args) {
  auto flags = Flags::Parse(args, {"discovery", "count", "threads", "prefix", "tag", "tag-groups"});
  if (!flags) return flags.error();
  if (auto missing = flags->Missing({"discovery", "count"}); !missing.empty()) {
    return InvalidArgument("missing required flag " + missing.front());
  }
  RegisterOptions o;
  o.discovery = flags->String("discovery");
  o.prefix = flags->String("prefix", o.prefix);
  o.tag = flags->String("tag", o.tag);
  auto count = flags->Int("count", 0);
  auto threads = flags->Int("threads", o.threads);
  auto groups = flags->Int("tag-groups", 0);
  if (!count) return count.error();
  if (!threads) return threads.error();
  if (!groups) return groups.error();
  o.count = *count;
  o.threads = std::max<int64_t>(1, *threads);
  o.tag_groups = *groups;
  return o;
}

json::Value Registration(const RegisterOptions& o, int64_t i) {
  std::string name = o.prefix + "-" + std::to_string(i);
  std::string tag = o.tag_groups > 0 ? o.tag + "-" + std::to_string(i % o.tag_groups) : o.tag;
  return json::Object{{"serviceName", name},
                      {"serviceURL", "http://127.0.0.1:9/" + o.prefix + "/" + std::to_string(i)},
                      {"tags", json::Array{tag}}};
}

void RegisterLoop(const RegisterOptions& o, http_client::Client& client, std::atomic<int64_t>& next, Tally& tally) {
  const std::string url = o.discovery + "/register";
  for (int64_t i = next++; i < o.count; i = next++) {
    auto reply = client.PostJson(url, Registration(o, i), std::chrono::seconds(10));
    if (!reply) {
      tally.Fail(reply.error().message);
    } else if (!reply->ok()) {
      tally.Fail("HTTP " + std::to_string(reply->status) + ": " + reply->body.substr(0, 200));
    } else {
      tally.Ok();
    }
  }
}

}  // namespace

int RunRegister(const std::vector<std::string>& args, http_client::Client& client) {
  auto options = ParseRegisterOptions(args);
  if (!options) {
    std::fprintf(stderr, "job_load register: %s\n", options.error().message.c_str());
    return 2;
  }
  std::atomic<int64_t> next{0};
  Tally tally;
  auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> threads;
  for (int64_t t = 0; t < options->threads; ++t) {
    threads.emplace_back([&] { RegisterLoop(*options, client, next, tally); });
  }
  for (auto& t : threads) t.join();
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  std::string first_error = tally.first_error();
  json::Value out = json::Object{{"registered", tally.ok()},
                                 {"failed", tally.failed()},
                                 {"seconds", seconds},
                                 {"per_s", seconds > 0 ? static_cast<double>(tally.ok()) / seconds : 0.0},
                                 {"first_error", first_error.empty() ? json::Value() : json::Value(first_error)}};
  std::printf("%s\n", json::Dump(out).c_str());
  return tally.failed() == 0 ? 0 : 1;
}

}  // namespace csp::bench
