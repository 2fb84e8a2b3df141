#pragma once
// The command line every binary shares (spec 00-platform.md "Configuration"):
//
//   csp::config::CommandLine cl("discovery", "Registry of services.", 4000);
//   cl.AddDuration("check-interval", "10s", "how often registered services are pinged");
//   cl.Add()("history", po::value<int64_t>()->default_value(100), "events kept per service");
//   if (auto exit_code = cl.Parse(argc, argv)) return *exit_code;
//   const auto& common = cl.common();
//   auto interval = cl.GetDuration("check-interval").value();   // validated by Parse
//
// Every flag is also read from the environment as CSP_<FLAG> (dashes -> underscores, upper
// case: --discovery-url <- CSP_DISCOVERY_URL). A flag wins over the environment, which wins over
// the default. Flags must be spelled in full (no prefix guessing).

#include <boost/program_options.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <iosfwd>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "csp/core/result.h"

namespace csp::config {

struct CommonOptions {
  std::string host = "127.0.0.1";  // --host
  uint16_t port = 0;               // --port; the CommandLine's default_port unless given
  std::string data_dir = "./data";  // --data-dir; ":memory:" keeps everything in memory
  std::string discovery_url = "http://127.0.0.1:4000";  // --discovery-url, without trailing '/'
  // --advertise-url, without trailing '/'. Default DefaultAdvertiseUrl(host, port); EMPTY when
  // --port is 0 and no URL was given: build it with DefaultAdvertiseUrl once the port is bound.
  std::string advertise_url;
  std::string log_level = "info";  // --log-level: debug, info, warn, error (validated)
  int threads = 2;                 // --threads, 1..64
  size_t max_body = size_t{1} << 20;  // --max-body, 1KiB..64MiB, accepts "1MiB"
  std::string auth_token_file;     // --auth-token-file
  bool auth_reads = false;         // --auth-reads: reads need the token too
  // From --auth-token-file (trimmed), else from env CSP_AUTH_TOKEN (trimmed); empty = auth off.
  // A secret: never log it.
  std::string auth_token;
};

// "http://<host>:<port>", with a wildcard bind address (0.0.0.0, ::, empty) replaced by
// 127.0.0.1 and an IPv6 literal bracketed.
std::string DefaultAdvertiseUrl(const std::string& host, uint16_t port);

// "1048576", "512KiB", "1MiB", "1GiB" (also "KB"/"MB"/"GB" = powers of 1000, "K"/"M"/"G" and
// "B"), case-insensitive units, integer amounts only. Errors: kInvalidArgument.
Result<size_t> ParseSize(std::string_view text);

class CommandLine {
 public:
  // default_port: the component's port (discovery 4000, ...); 0 for binaries that serve nothing.
  CommandLine(std::string program, std::string summary, uint16_t default_port);

  // Declares component flags, e.g. Add()("workers", po::value<int64_t>()->default_value(4), "...").
  // Use bool_switch() for on/off flags. Declare before Parse.
  boost::program_options::options_description_easy_init Add();
  // A string flag that Parse checks with csp::ParseDuration ("500ms", "2s", "5m", bare seconds).
  void AddDuration(const std::string& name, const std::string& default_value, const std::string& help);
  // A string flag that Parse checks with ParseSize.
  void AddSize(const std::string& name, const std::string& default_value, const std::string& help);

  // Parses argv, then the environment, then validates. Returns:
  //   0  after --help (usage on out) or --version ("<program> <version>" on out);
  //   2  after a bad flag or value, with ONE line "<program>: <problem>" on err;
  //   std::nullopt when the program should go on.
  std::optional<int> Parse(int argc, const char* const* argv);
  std::optional<int> Parse(int argc, const char* const* argv, std::ostream& out, std::ostream& err);

  const CommonOptions& common() const { return common_; }
  const std::string& program() const { return program_; }
  // The --help text.
  std::string Usage() const;

  // Accessors for component flags, after Parse. Asking for an undeclared flag, or with the wrong
  // type, is a bug (boost::bad_any_cast is thrown).
  std::string GetString(const std::string& name) const;
  int64_t GetInt(const std::string& name) const;  // any integral value<T>
  bool GetBool(const std::string& name) const;
  // True when the flag has a value: given, from the environment, or defaulted.
  bool Has(const std::string& name) const;
  // True when the flag was given on the command line or in the environment (not defaulted).
  bool WasSet(const std::string& name) const;
  // A string flag read as a duration/size (integral flags: seconds/bytes). Errors name the flag.
  Result<std::chrono::milliseconds> GetDuration(const std::string& name) const;
  Result<size_t> GetSize(const std::string& name) const;

 private:
  Status LoadCommon();
  Status LoadAuthToken();
  Status CheckTypedFlags() const;

  std::string program_;
  std::string summary_;
  uint16_t default_port_;
  boost::program_options::options_description common_desc_;
  boost::program_options::options_description component_desc_;
  std::set<std::string> duration_flags_;
  std::set<std::string> size_flags_;
  boost::program_options::variables_map vm_;
  CommonOptions common_;
};

}  // namespace csp::config
