#pragma once
// Test doubles for the discovery unit tests: a settable clock, a scripted HTTP client and a
// temporary directory.

#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>

#include "csp/core/clock.h"
#include "csp/http_client/client.h"

namespace csp::discovery::testing {

class FakeClock final : public Clock {
 public:
  std::chrono::system_clock::time_point Now() const override {
    std::lock_guard<std::mutex> lock(mu_);
    return now_;
  }
  std::chrono::steady_clock::time_point Steady() const override {
    std::lock_guard<std::mutex> lock(mu_);
    return steady_;
  }
  void Advance(std::chrono::milliseconds d) {
    std::lock_guard<std::mutex> lock(mu_);
    now_ += d;
    steady_ += d;
  }

 private:
  mutable std::mutex mu_;
  // 2026-11-22T10:00:00.000Z
  std::chrono::system_clock::time_point now_{std::chrono::milliseconds(1795341600000)};
  std::chrono::steady_clock::time_point steady_{std::chrono::hours(1000)};
};

// Answers GET <url> with the status scripted for that URL (default 200); a status of 0 means a
// transport failure (connection refused). Counts calls and the most checks seen at once.
class FakeHttpClient final : public http_client::Client {
 public:
  Result<http_client::Response> Send(const http_client::Request& request) override {
    int status;
    {
      std::unique_lock<std::mutex> lock(mu_);
      ++calls_[request.url];
      ++running_;
      if (running_ > max_running_) max_running_ = running_;
      last_timeout_ = request.timeout;
      progress_cv_.notify_all();
      // Held calls wait until Release(): lets a test see how many run at once.
      cv_.wait(lock, [&] { return !hold_; });
      --running_;
      auto it = statuses_.find(request.url);
      status = it == statuses_.end() ? 200 : it->second;
    }
    if (status == 0) return Unavailable("GET " + request.url + ": Couldn't connect to server");
    http_client::Response r;
    r.status = status;
    return r;
  }

  void SetStatus(const std::string& url, int status) {
    std::lock_guard<std::mutex> lock(mu_);
    statuses_[url] = status;
  }
  int Calls(const std::string& url) const {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = calls_.find(url);
    return it == calls_.end() ? 0 : it->second;
  }
  int TotalCalls() const {
    std::lock_guard<std::mutex> lock(mu_);
    int total = 0;
    for (const auto& [url, n] : calls_) total += n;
    return total;
  }
  int Running() const {
    std::lock_guard<std::mutex> lock(mu_);
    return running_;
  }
  int MaxRunning() const {
    std::lock_guard<std::mutex> lock(mu_);
    return max_running_;
  }
  std::chrono::milliseconds LastTimeout() const {
    std::lock_guard<std::mutex> lock(mu_);
    return last_timeout_;
  }
  void Hold() {
    std::lock_guard<std::mutex> lock(mu_);
    hold_ = true;
  }
  void Release() {
    std::lock_guard<std::mutex> lock(mu_);
    hold_ = false;
    cv_.notify_all();
  }
  // Blocks until `n` calls are running (held). Bounded so a broken test fails instead of hanging.
  bool WaitForRunning(int n) {
    std::unique_lock<std::mutex> lock(mu_);
    return progress_cv_.wait_for(lock, std::chrono::seconds(10), [&] { return running_ >= n; });
  }

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::condition_variable progress_cv_;
  std::map<std::string, int> statuses_;
  std::map<std::string, int> calls_;
  int running_ = 0;
  int max_running_ = 0;
  bool hold_ = false;
  std::chrono::milliseconds last_timeout_{0};
};

// A fresh directory under /tmp, removed with its contents at scope exit.
class TempDir {
 public:
  TempDir() {
    std::string templ = "/tmp/csp-discovery-test-XXXXXX";
    if (mkdtemp(templ.data()) != nullptr) path_ = templ;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string File(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

// Polls `condition` until it holds or `timeout` passes; for the few tests that must see another
// thread reach a state that has no notification of its own.
inline bool WaitForCondition(const std::function<bool()>& condition,
                             std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!condition()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

}  // namespace csp::discovery::testing
