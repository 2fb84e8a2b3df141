#pragma once
// job-runner's settings: the command line (Boost.Program_options), the environment
// (JOB_RUNNER_*), config files with named contexts, and defaults, merged with that precedence:
//
//   flag  >  environment  >  config (the selected context over the file's top level)  >  default
//
// Parsing is separated from I/O so the precedence is unit-tested: ParseCommandLine only looks at
// argv, ResolveOptions takes the environment as a lookup function and the config files as
// already-read JSON.

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "csp/core/result.h"
#include "csp/json/value.h"

namespace csp::job_runner {

inline constexpr const char* kDefaultDiscoveryUrl = "http://127.0.0.1:4000";

// Where a run's final state document goes.
struct EmitTarget {
  bool to_stdout = true;  // --emit without a value (or config "emit": true)
  std::string file;       // --emit FILE (or config "emit": "FILE")
};

struct Options {
  std::string command = "run";    // a row of the command table
  std::vector<std::string> args;  // positional arguments after the command

  // Platform endpoints. Empty job_url/state_url: look the service up in discovery.
  std::string discovery_url = kDefaultDiscoveryUrl;
  std::string job_url;
  std::string state_url;
  std::string context;     // the named context in use, "" when none
  std::string token_file;  // read (and permission-checked) by ReadTokenFile
  std::string token;       // Authorization: Bearer <token>; a secret, never printed

  // run
  std::string state_file;
  std::optional<EmitTarget> emit;
  bool keep = false;
  bool overwrite = false;
  bool dry_run = false;
  bool verbose = false;
  bool quiet = false;
  bool json = false;
  std::vector<std::string> sets;  // "key.path=value", applied in order after --input
  std::string input_file;
  std::chrono::milliseconds timeout{0};  // 0: wait for the job as long as it takes

  // other commands
  std::string status_filter;  // list --status
  int64_t after = 0;          // events --after
  bool offline = false;       // validate --offline: document checks only
  bool help = false;

  // Config files that supplied defaults, for --verbose.
  std::vector<std::string> config_files;
};

// The command line before the environment and config are consulted.
struct CommandLine {
  std::vector<std::string> positionals;  // command (or job file) and its arguments
  // Every option given, by its long name, with its raw value ("" for switches).
  std::vector<std::pair<std::string, std::string>> given;
  bool Has(const std::string& name) const;
  // The last value given for `name` (flags given twice: the last wins).
  std::optional<std::string> Value(const std::string& name) const;
  std::vector<std::string> Values(const std::string& name) const;
};

// Parses argv[1..]. Errors (kInvalidArgument): unknown option ("unrecognised option '--x'"),
// missing value, an abbreviated option (no prefix guessing).
Result<CommandLine> ParseCommandLine(const std::vector<std::string>& args);

// The --help text of the flags.
std::string FlagsHelp();

// Every long option name with its help text (for shell completion).
std::vector<std::pair<std::string, std::string>> FlagList();

// The parsed config files. `local` is ./.job-runner.json, `user` is
// $XDG_CONFIG_HOME/job-runner/config.json; each is null when absent. `*_dir` is the directory
// relative paths in that file are resolved against.
struct ConfigFiles {
  json::Value local;
  std::string local_dir;
  std::string local_path;
  json::Value user;
  std::string user_dir;
  std::string user_path;
};

// Reads the config files: with `explicit_path` (--config / JOB_RUNNER_CONFIG) only that file
// (which must exist); otherwise ./.job-runner.json in `cwd` and the user config under
// $XDG_CONFIG_HOME (default $HOME/.config). A missing file is fine; invalid JSON or a non-object
// is kInvalidArgument naming the file.
using EnvLookup = std::function<std::optional<std::string>(const std::string&)>;
Result<ConfigFiles> LoadConfigFiles(const std::string& cwd, const std::string& explicit_path,
                                    const EnvLookup& env);

// Merges command line > environment > config > defaults into Options. `command` is the table row
// already chosen from the positionals and `args` the positionals after it.
// Errors (kInvalidArgument, exit 2): a bad value (duration, boolean), an unknown context,
// conflicting flags (--json with --emit to stdout, --quiet with --verbose).
Result<Options> ResolveOptions(const CommandLine& cl, std::string command, std::vector<std::string> args,
                               const EnvLookup& env, const ConfigFiles& config);

// Reads the bearer token. Errors: kPermissionDenied when the file is readable by group or others
// ("token file F is readable by others (mode 0644); run: chmod 600 F"), kNotFound when missing.
Result<std::string> ReadTokenFile(const std::string& path);

// --set "a.b.c=value" or "/a/b=value" (a JSON Pointer): sets the value at that path in `doc`,
// creating missing objects. The value is JSON when it parses as JSON, else the literal string.
// Errors (kInvalidArgument): no '=', an empty key or segment, a path through a scalar.
Status ApplySet(json::Value& doc, const std::string& assignment);

// Parses the part after '=' of a --set: JSON if it parses, else the string itself.
json::Value ParseSetValue(const std::string& text);

// "1", "true", "yes", "on" / "0", "false", "no", "off" (any case).
Result<bool> ParseBool(const std::string& text);

}  // namespace csp::job_runner
