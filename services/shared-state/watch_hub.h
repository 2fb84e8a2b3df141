#pragma once
// Parked watches (long polls) on documents, without a thread per watcher: each watch is a
// callback held here until the document changes, its deadline passes, or the hub shuts down.
// One thread delivers every outcome; tests drive the hub by hand with RunDue() instead.
//
//   hub.Start();
//   auto token = hub.Add("s1", WatchCondition{5, false}, clock.Steady() + 30s, [](WatchOutcome o) {...});
//   store listener: hub.Notify("s1", 6);   // -> the callback runs with kChanged, on the hub's thread
//
// Each callback runs exactly once, outside the hub's lock, so it may call back into the hub and
// into the store.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "csp/core/clock.h"

namespace csp::shared_state {

enum class WatchOutcome {
  kChanged,   // the condition holds: reply with the document as it is now
  kTimedOut,  // the deadline passed with no qualifying change
  kShutdown,  // the service is stopping: reply now
};

// What a watcher waits for, given the version it has (0: the document did not exist).
struct WatchCondition {
  int64_t after_version = 0;       // wake when the version passes this
  bool wait_for_creation = false;  // the document did not exist when the watch began

  // True when a document now at `version` (0: deleted/absent) ends the watch: it was created (for
  // a watch that began on an absent document), or its version passed after_version, or it was
  // deleted (a GET would now answer 404, so holding on is pointless).
  bool SatisfiedBy(int64_t version) const {
    if (wait_for_creation) return version > 0;
    return version == 0 || version > after_version;
  }
};

class WatchHub {
 public:
  using Callback = std::function<void(WatchOutcome)>;
  using Token = uint64_t;

  // Deadlines are read from clock.Steady().
  explicit WatchHub(const Clock& clock);
  ~WatchHub();  // Shutdown()
  WatchHub(const WatchHub&) = delete;
  WatchHub& operator=(const WatchHub&) = delete;

  // Starts the delivery thread (deadlines and notifications). Without it, nothing is delivered
  // until RunDue() is called.
  void Start();

  // Parks a watch on document `id`. After Shutdown() the callback runs at once with kShutdown
  // (on the calling thread) and the token is 0.
  Token Add(std::string id, WatchCondition condition, std::chrono::steady_clock::time_point deadline,
            Callback callback);
  // Removes a parked watch without running its callback. True when it was still parked: the caller
  // now owns the reply. False when an outcome was (or is being) delivered already.
  bool Take(Token token);

  // A committed write left document `id` at `version` (0: deleted). Cheap: queues and wakes.
  void Notify(const std::string& id, int64_t version);

  // Delivers what is due now: kChanged for watches whose condition a queued notification
  // satisfies, kTimedOut for watches past their deadline.
  void RunDue();

  // Delivers kShutdown to every parked watch, now, and stops the thread. Idempotent. Returns how
  // many watches it answered.
  size_t Shutdown();

  size_t size() const;

 private:
  struct Watch {
    std::string id;
    WatchCondition condition;
    std::chrono::steady_clock::time_point deadline;
    Callback callback;
  };
  using Fired = std::vector<std::pair<Callback, WatchOutcome>>;

  void Run();
  // Removes a watch from every index; returns its callback. mu_ held.
  Callback RemoveLocked(Token token);
  Fired CollectDueLocked();

  const Clock& clock_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  Token next_token_ = 1;
  std::unordered_map<Token, Watch> watches_;
  std::unordered_map<std::string, std::set<Token>> by_document_;
  std::set<std::pair<std::chrono::steady_clock::time_point, Token>> deadlines_;
  std::vector<std::pair<std::string, int64_t>> events_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace csp::shared_state
