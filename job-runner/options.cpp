// Flags are parsed with Boost.Program_options but not stored in a variables_map: keeping the
// parsed options in order lets "--keep ... --cleanup" mean what the user typed last, and lets the
// resolver tell a flag that was given from one that was not (which decides precedence).

#include "options.h"

#include <sys/stat.h>

#include <algorithm>
#include <boost/program_options.hpp>
#include <cctype>
#include <fstream>
#include <sstream>

#include "csp/core/time.h"
#include "csp/json/json.h"
#include "csp/json/pointer.h"

namespace csp::job_runner {
namespace po = boost::program_options;
namespace {

po::options_description Describe() {
  po::options_description d("Flags", 110, 50);
  // clang-format off
  d.add_options()
    ("help,h", po::bool_switch(), "show help (job-runner help COMMAND for one command)")
    ("version", po::bool_switch(), "print the version")
    ("state", po::value<std::string>()->value_name("FILE"), "JSON file that becomes the job's shared-state document")
    ("emit", po::value<std::string>()->implicit_value("")->value_name("FILE"),
     "print the final state document (pretty JSON) on stdout, or write it to FILE")
    ("keep", po::bool_switch(), "keep the state document the runner created (default: delete it)")
    ("cleanup", po::bool_switch(), "delete the state document at the end (the default; overrides a config 'keep')")
    ("overwrite", po::bool_switch(), "replace an existing state document with the same id")
    ("dry-run", po::bool_switch(), "print what would be done; change nothing")
    ("verbose", po::bool_switch(), "print each HTTP step on stderr")
    ("quiet,q", po::bool_switch(), "print nothing but errors")
    ("json", po::bool_switch(), "print machine-readable JSON (run: the final job record)")
    ("set", po::value<std::vector<std::string>>()->value_name("K.PATH=V"),
     "set a value in the state before the job runs (repeatable; VALUE is JSON if it parses)")
    ("input", po::value<std::string>()->value_name("FILE"), "JSON object merged into the state before the job runs")
    ("timeout", po::value<std::string>()->value_name("DURATION"), "cancel the job if it has not ended after this long (e.g. 90s, 5m)")
    ("job-url", po::value<std::string>()->value_name("URL"), "URL of job-control (default: found in discovery)")
    ("state-url", po::value<std::string>()->value_name("URL"), "URL of shared-state (default: found in discovery)")
    ("discovery-url", po::value<std::string>()->value_name("URL"), "URL of discovery (default http://127.0.0.1:4000)")
    ("context", po::value<std::string>()->value_name("NAME"), "the config context to use")
    ("config", po::value<std::string>()->value_name("FILE"), "read only this config file")
    ("token-file", po::value<std::string>()->value_name("FILE"), "bearer token for the platform (mode 0600)")
    ("status", po::value<std::string>()->value_name("S"), "list: only jobs with this status")
    ("after", po::value<std::string>()->value_name("N"), "events: only events after this sequence number")
    ("offline", po::bool_switch(), "validate: check the document only, not the live platform")
    ("no-keep", po::bool_switch(), "same as --cleanup")
    ("no-emit", po::bool_switch(), "do not emit (overrides the config)")
    ("no-overwrite", po::bool_switch(), "do not overwrite (overrides the config)")
    ("no-dry-run", po::bool_switch(), "run for real (overrides the config)")
    ("no-verbose", po::bool_switch(), "not verbose (overrides the config)");
  // clang-format on
  return d;
}

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

std::string StripTrailingSlash(std::string url) {
  while (!url.empty() && url.back() == '/') url.pop_back();
  return url;
}

std::string JoinDir(const std::string& dir, const std::string& path) {
  if (path.empty() || path.front() == '/' || dir.empty()) return path;
  return dir + "/" + path;
}

std::string ExpandHome(const std::string& path, const EnvLookup& env) {
  if (path.rfind("~/", 0) != 0) return path;
  auto home = env("HOME");
  return home ? *home + path.substr(1) : path;
}

// One place a config value can come from, searched in order.
struct Layer {
  const json::Value* object;
  std::string dir;
};

// The config as a search list: the selected context (local, then user), then the top levels.
class ConfigView {
 public:
  const json::Value* Find(const std::string& key, std::string* dir = nullptr) const {
    for (const auto& layer : layers_) {
      const json::Value* v = layer.object->Find(key);
      if (v == nullptr || v->IsNull()) continue;
      if (dir != nullptr) *dir = layer.dir;
      return v;
    }
    return nullptr;
  }
  void Add(const json::Value* object, std::string dir) {
    if (object != nullptr && object->IsObject()) layers_.push_back({object, std::move(dir)});
  }

 private:
  std::vector<Layer> layers_;
};

Result<json::Value> ReadJsonFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Error(ErrorCode::kNotFound, "cannot read " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  // An empty file (or /dev/null, to ignore every config) is an empty config.
  if (ss.str().find_first_not_of(" \t\r\n") == std::string::npos) return json::Value::MakeObject();
  auto parsed = json::Parse(ss.str());
  if (!parsed) return InvalidArgument(path + ": " + parsed.error().message);
  if (!parsed->IsObject()) return InvalidArgument(path + ": expected a JSON object");
  return parsed;
}

bool FileExists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

std::string DirOf(const std::string& path) {
  auto slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

// A string setting: flag, then environment, then config.
struct StringSource {
  std::string flag;
  std::string env;
  std::string key;
  bool is_path = false;
};

Result<std::optional<std::string>> ResolveString(const CommandLine& cl, const EnvLookup& env,
                                                 const ConfigView& config, const StringSource& s) {
  if (auto v = cl.Value(s.flag)) return std::optional<std::string>(*v);
  if (auto v = env(s.env)) return std::optional<std::string>(*v);
  std::string dir;
  const json::Value* v = config.Find(s.key, &dir);
  if (v == nullptr) return std::optional<std::string>();
  if (!v->IsString()) return InvalidArgument("config '" + s.key + "': expected a string");
  std::string value = v->AsString();
  if (s.is_path) value = JoinDir(dir, ExpandHome(value, env));
  return std::optional<std::string>(value);
}

// A boolean setting: the last of --flag / --no-flag (and `negations`), then env, then config.
Result<bool> ResolveBool(const CommandLine& cl, const EnvLookup& env, const ConfigView& config,
                         const std::string& flag, const std::vector<std::string>& negations,
                         const std::string& env_name, const std::string& key, bool fallback) {
  std::optional<bool> from_flags;
  for (const auto& [name, value] : cl.given) {
    if (name == flag) from_flags = true;
    if (std::find(negations.begin(), negations.end(), name) != negations.end()) from_flags = false;
  }
  if (from_flags) return *from_flags;
  if (auto v = env(env_name)) {
    auto b = ParseBool(*v);
    if (!b) return InvalidArgument(env_name + ": " + b.error().message);
    return *b;
  }
  if (const json::Value* v = config.Find(key)) {
    if (!v->IsBool()) return InvalidArgument("config '" + key + "': expected true or false");
    return v->AsBool();
  }
  return fallback;
}

// The emit target: --emit[=FILE] / --no-emit, JOB_RUNNER_EMIT, config "emit" (true or a file).
Result<std::optional<EmitTarget>> ResolveEmit(const CommandLine& cl, const EnvLookup& env, const ConfigView& config) {
  std::optional<std::optional<EmitTarget>> from_flags;
  for (const auto& [name, value] : cl.given) {
    if (name == "no-emit") from_flags = std::optional<EmitTarget>();
    if (name != "emit") continue;
    EmitTarget t;
    t.to_stdout = value.empty() || value == "-";
    if (!t.to_stdout) t.file = value;
    from_flags = t;
  }
  if (from_flags) return *from_flags;
  if (auto v = env("JOB_RUNNER_EMIT")) {
    if (auto b = ParseBool(*v)) return *b ? std::optional<EmitTarget>(EmitTarget{}) : std::nullopt;
    if (*v == "-") return std::optional<EmitTarget>(EmitTarget{});
    return std::optional<EmitTarget>(EmitTarget{false, *v});
  }
  std::string dir;
  const json::Value* v = config.Find("emit", &dir);
  if (v == nullptr) return std::optional<EmitTarget>();
  if (v->IsBool()) return v->AsBool() ? std::optional<EmitTarget>(EmitTarget{}) : std::nullopt;
  if (v->IsString() && (v->AsString().empty() || v->AsString() == "-")) {
    return std::optional<EmitTarget>(EmitTarget{});
  }
  if (v->IsString()) return std::optional<EmitTarget>(EmitTarget{false, JoinDir(dir, ExpandHome(v->AsString(), env))});
  return InvalidArgument("config 'emit': expected true, false or a file name");
}

Result<std::chrono::milliseconds> ResolveTimeout(const CommandLine& cl, const EnvLookup& env,
                                                 const ConfigView& config) {
  std::optional<std::string> text = cl.Value("timeout");
  std::string where = "--timeout";
  if (!text) {
    text = env("JOB_RUNNER_TIMEOUT");
    where = "JOB_RUNNER_TIMEOUT";
  }
  if (!text) {
    const json::Value* v = config.Find("timeout");
    if (v == nullptr) return std::chrono::milliseconds(0);
    if (v->IsNumber()) return std::chrono::milliseconds(static_cast<int64_t>(v->AsDouble() * 1000));
    if (!v->IsString()) return InvalidArgument("config 'timeout': expected a duration such as \"90s\"");
    text = v->AsString();
    where = "config 'timeout'";
  }
  auto d = ParseDuration(*text);
  if (!d) return InvalidArgument(where + ": " + d.error().message);
  return *d;
}

// The selected context: --context, JOB_RUNNER_CONTEXT, then "current" of the local or user config.
Result<std::string> SelectContext(const CommandLine& cl, const EnvLookup& env, const ConfigFiles& files) {
  if (auto v = cl.Value("context")) return *v;
  if (auto v = env("JOB_RUNNER_CONTEXT")) return *v;
  for (const json::Value* file : {&files.local, &files.user}) {
    const json::Value* current = file->Find("current");
    if (current == nullptr || current->IsNull()) continue;
    if (!current->IsString()) return InvalidArgument("config 'current': expected a context name");
    return current->AsString();
  }
  return std::string();
}

const json::Value* FindContext(const json::Value& file, const std::string& name) {
  const json::Value* contexts = file.Find("contexts");
  return contexts == nullptr ? nullptr : contexts->Find(name);
}

std::string KnownContexts(const ConfigFiles& files) {
  std::vector<std::string> names;
  for (const json::Value* file : {&files.local, &files.user}) {
    const json::Value* contexts = file->Find("contexts");
    if (contexts == nullptr || !contexts->IsObject()) continue;
    for (const auto& [name, value] : contexts->AsObject()) {
      if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
    }
  }
  if (names.empty()) return "none defined";
  std::string out = "known: ";
  for (size_t i = 0; i < names.size(); ++i) out += (i ? ", " : "") + names[i];
  return out;
}

Result<ConfigView> BuildConfigView(const ConfigFiles& files, const std::string& context) {
  ConfigView view;
  if (!context.empty()) {
    const json::Value* local = FindContext(files.local, context);
    const json::Value* user = FindContext(files.user, context);
    if (local == nullptr && user == nullptr) {
      return InvalidArgument("context '" + context + "' is not in the config (" + KnownContexts(files) + ")");
    }
    view.Add(local, files.local_dir);
    view.Add(user, files.user_dir);
  }
  view.Add(&files.local, files.local_dir);
  view.Add(&files.user, files.user_dir);
  return view;
}

Status ResolveEndpoints(Options& o, const CommandLine& cl, const EnvLookup& env, const ConfigView& config) {
  const StringSource sources[] = {
      {"discovery-url", "JOB_RUNNER_DISCOVERY_URL", "discoveryURL"},
      {"job-url", "JOB_RUNNER_JOB_URL", "jobURL"},
      {"state-url", "JOB_RUNNER_STATE_URL", "stateURL"},
      {"token-file", "JOB_RUNNER_TOKEN_FILE", "tokenFile", true},
  };
  std::string* targets[] = {&o.discovery_url, &o.job_url, &o.state_url, &o.token_file};
  for (size_t i = 0; i < std::size(sources); ++i) {
    auto v = ResolveString(cl, env, config, sources[i]);
    if (!v) return v.error();
    if (*v) *targets[i] = **v;
  }
  o.discovery_url = StripTrailingSlash(o.discovery_url);
  o.job_url = StripTrailingSlash(o.job_url);
  o.state_url = StripTrailingSlash(o.state_url);
  if (o.discovery_url.empty()) return InvalidArgument("--discovery-url: must not be empty");
  if (auto token = env("JOB_RUNNER_TOKEN"); token && o.token_file.empty()) o.token = *token;
  return Ok();
}

Status ResolveRunSettings(Options& o, const CommandLine& cl, const EnvLookup& env, const ConfigView& config) {
  auto state = ResolveString(cl, env, config, {"state", "JOB_RUNNER_STATE", "state", true});
  if (!state) return state.error();
  if (*state) o.state_file = **state;

  struct BoolSetting {
    const char* flag;
    std::vector<std::string> negations;
    const char* env;
    const char* key;
    bool* target;
  };
  const BoolSetting bools[] = {
      {"keep", {"cleanup", "no-keep"}, "JOB_RUNNER_KEEP", "keep", &o.keep},
      {"overwrite", {"no-overwrite"}, "JOB_RUNNER_OVERWRITE", "overwrite", &o.overwrite},
      {"dry-run", {"no-dry-run"}, "JOB_RUNNER_DRY_RUN", "dryRun", &o.dry_run},
      {"verbose", {"no-verbose"}, "JOB_RUNNER_VERBOSE", "verbose", &o.verbose},
      {"quiet", {}, "JOB_RUNNER_QUIET", "quiet", &o.quiet},
  };
  for (const auto& b : bools) {
    auto v = ResolveBool(cl, env, config, b.flag, b.negations, b.env, b.key, false);
    if (!v) return v.error();
    *b.target = *v;
  }
  o.json = cl.Has("json");

  auto emit = ResolveEmit(cl, env, config);
  if (!emit) return emit.error();
  o.emit = *emit;
  auto timeout = ResolveTimeout(cl, env, config);
  if (!timeout) return timeout.error();
  o.timeout = *timeout;
  o.sets = cl.Values("set");
  o.input_file = cl.Value("input").value_or("");
  return Ok();
}

// Flags settle conflicts between themselves; a flag beats a config/env value it contradicts.
Status SettleConflicts(Options& o, const CommandLine& cl) {
  if (cl.Has("quiet") && cl.Has("verbose")) return InvalidArgument("--quiet and --verbose cannot be used together");
  if (o.quiet && o.verbose) {
    if (cl.Has("verbose")) {
      o.quiet = false;
    } else {
      o.verbose = false;
    }
  }
  if (o.json && o.emit && o.emit->to_stdout) {
    return InvalidArgument("--json and --emit both want stdout: give --emit a FILE");
  }
  return Ok();
}

}  // namespace

bool CommandLine::Has(const std::string& name) const {
  return std::any_of(given.begin(), given.end(), [&](const auto& g) { return g.first == name; });
}

std::optional<std::string> CommandLine::Value(const std::string& name) const {
  std::optional<std::string> last;
  for (const auto& [key, value] : given) {
    if (key == name) last = value;
  }
  return last;
}

std::vector<std::string> CommandLine::Values(const std::string& name) const {
  std::vector<std::string> out;
  for (const auto& [key, value] : given) {
    if (key == name) out.push_back(value);
  }
  return out;
}

Result<CommandLine> ParseCommandLine(const std::vector<std::string>& args) {
  po::options_description all = Describe();
  all.add_options()("positional", po::value<std::vector<std::string>>(), "");
  po::positional_options_description positional;
  positional.add("positional", -1);
  const int style = po::command_line_style::default_style & ~po::command_line_style::allow_guessing;
  CommandLine cl;
  try {
    po::parsed_options parsed =
        po::command_line_parser(args).options(all).positional(positional).style(style).run();
    for (const auto& option : parsed.options) {
      std::string value = option.value.empty() ? "" : option.value.front();
      if (option.string_key == "positional") {
        cl.positionals.push_back(value);
        continue;
      }
      cl.given.emplace_back(option.string_key, value);
    }
  } catch (const po::error& e) {
    return InvalidArgument(e.what());
  }
  return cl;
}

std::string FlagsHelp() {
  std::ostringstream out;
  out << Describe();
  return out.str();
}

std::vector<std::pair<std::string, std::string>> FlagList() {
  std::vector<std::pair<std::string, std::string>> flags;
  const po::options_description described = Describe();
  for (const auto& option : described.options()) flags.emplace_back(option->long_name(), option->description());
  return flags;
}

Result<ConfigFiles> LoadConfigFiles(const std::string& cwd, const std::string& explicit_path, const EnvLookup& env) {
  ConfigFiles files;
  if (!explicit_path.empty()) {
    auto v = ReadJsonFile(explicit_path);
    if (!v) return InvalidArgument("config " + v.error().message);
    files.local = std::move(*v);
    files.local_path = explicit_path;
    files.local_dir = DirOf(explicit_path);
    return files;
  }
  const std::string local = JoinDir(cwd, ".job-runner.json");
  if (FileExists(local)) {
    auto v = ReadJsonFile(local);
    if (!v) return v.error();
    files.local = std::move(*v);
    files.local_path = local;
    files.local_dir = cwd;
  }
  std::string config_home = env("XDG_CONFIG_HOME").value_or("");
  if (config_home.empty()) {
    auto home = env("HOME");
    if (!home) return files;
    config_home = *home + "/.config";
  }
  const std::string user = config_home + "/job-runner/config.json";
  if (FileExists(user)) {
    auto v = ReadJsonFile(user);
    if (!v) return v.error();
    files.user = std::move(*v);
    files.user_path = user;
    files.user_dir = DirOf(user);
  }
  return files;
}

Result<Options> ResolveOptions(const CommandLine& cl, std::string command, std::vector<std::string> args,
                               const EnvLookup& env, const ConfigFiles& config) {
  Options o;
  o.command = std::move(command);
  o.args = std::move(args);
  o.help = cl.Has("help");
  for (const std::string* path : {&config.local_path, &config.user_path}) {
    if (!path->empty()) o.config_files.push_back(*path);
  }

  auto context = SelectContext(cl, env, config);
  if (!context) return context.error();
  o.context = *context;
  auto view = BuildConfigView(config, o.context);
  if (!view) return view.error();

  if (auto s = ResolveEndpoints(o, cl, env, *view); !s) return s.error();
  if (auto s = ResolveRunSettings(o, cl, env, *view); !s) return s.error();
  o.status_filter = cl.Value("status").value_or("");
  o.offline = cl.Has("offline");
  if (auto after = cl.Value("after")) {
    try {
      size_t used = 0;
      o.after = std::stoll(*after, &used);
      if (used != after->size() || o.after < 0) throw std::invalid_argument("after");
    } catch (const std::exception&) {
      return InvalidArgument("--after: expected a sequence number, got '" + *after + "'");
    }
  }
  if (auto s = SettleConflicts(o, cl); !s) return s.error();
  return o;
}

Result<std::string> ReadTokenFile(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return NotFound("token file " + path + " does not exist");
  if ((st.st_mode & (S_IRGRP | S_IROTH | S_IWOTH)) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return Error(ErrorCode::kPermissionDenied, "token file " + path + " is readable by others (mode " + mode +
                                                   "); run: chmod 600 " + path);
  }
  std::ifstream in(path);
  if (!in) return NotFound("cannot read token file " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string token = ss.str();
  while (!token.empty() && std::isspace(static_cast<unsigned char>(token.back()))) token.pop_back();
  size_t start = 0;
  while (start < token.size() && std::isspace(static_cast<unsigned char>(token[start]))) ++start;
  token.erase(0, start);
  if (token.empty()) return InvalidArgument("token file " + path + " is empty");
  return token;
}

json::Value ParseSetValue(const std::string& text) {
  auto parsed = json::Parse(text);
  if (parsed) return std::move(*parsed);
  return json::Value(text);
}

namespace {

Result<std::vector<std::string>> SplitSetKey(const std::string& key) {
  if (key.empty()) return InvalidArgument("empty key");
  if (key.front() == '/') {
    auto pointer = json::Pointer::Parse(key);
    if (!pointer) return pointer.error();
    if (pointer->IsRoot()) return InvalidArgument("the path must name a member");
    return pointer->tokens();
  }
  std::vector<std::string> segments;
  std::string segment;
  std::istringstream in(key);
  while (std::getline(in, segment, '.')) segments.push_back(segment);
  if (key.back() == '.') segments.emplace_back();
  for (const auto& s : segments) {
    if (s.empty()) return InvalidArgument("empty segment in '" + key + "'");
  }
  return segments;
}

bool IsIndex(const std::string& token, size_t size, size_t* index) {
  if (token.empty() || token.size() > 9) return false;
  if (!std::all_of(token.begin(), token.end(), [](unsigned char c) { return std::isdigit(c); })) return false;
  if (token.size() > 1 && token.front() == '0') return false;
  *index = std::stoul(token);
  return *index < size;
}

// The child named `token`; objects are created for absent members, arrays are indexed.
Result<json::Value*> Descend(json::Value& parent, const std::string& token, const std::string& shown) {
  if (parent.IsNull()) parent = json::Value::MakeObject();
  if (parent.IsObject()) {
    json::Value& child = parent[token];
    return &child;
  }
  size_t index = 0;
  if (parent.IsArray() && IsIndex(token, parent.AsArray().size(), &index)) return &parent.AsArray()[index];
  return InvalidArgument("'" + shown + "' is " + std::string(json::TypeName(parent.type())) +
                         ", cannot set a member in it");
}

}  // namespace

Status ApplySet(json::Value& doc, const std::string& assignment) {
  const auto eq = assignment.find('=');
  if (eq == std::string::npos) return InvalidArgument("--set " + assignment + ": expected KEY.PATH=VALUE");
  auto segments = SplitSetKey(assignment.substr(0, eq));
  if (!segments) return InvalidArgument("--set " + assignment + ": " + segments.error().message);
  json::Value* at = &doc;
  std::string shown;
  for (size_t i = 0; i + 1 < segments->size(); ++i) {
    shown += (i ? "." : "") + (*segments)[i];
    auto child = Descend(*at, (*segments)[i], i == 0 ? "the state" : shown);
    if (!child) return InvalidArgument("--set " + assignment + ": " + child.error().message);
    at = *child;
  }
  auto leaf = Descend(*at, segments->back(), shown.empty() ? "the state" : shown);
  if (!leaf) return InvalidArgument("--set " + assignment + ": " + leaf.error().message);
  **leaf = ParseSetValue(assignment.substr(eq + 1));
  return Ok();
}

Result<bool> ParseBool(const std::string& text) {
  const std::string t = Lower(text);
  if (t == "1" || t == "true" || t == "yes" || t == "on") return true;
  if (t == "0" || t == "false" || t == "no" || t == "off") return false;
  return InvalidArgument("expected true or false, got '" + text + "'");
}

}  // namespace csp::job_runner
