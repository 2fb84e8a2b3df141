#include "csp/config/command_line.h"

#include <sys/stat.h>

#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <limits>
#include <sstream>
#include <vector>

#include "csp/core/time.h"
#include "csp/log/log.h"

#ifndef CSP_VERSION
#define CSP_VERSION "0.0.0"
#endif

namespace po = boost::program_options;

namespace csp::config {

namespace {

constexpr size_t kKiB = 1024;
constexpr size_t kMinBody = kKiB;
constexpr size_t kMaxBody = 64 * kKiB * kKiB;
constexpr int kMaxThreads = 64;
constexpr std::streamsize kMaxTokenFileBytes = 64 * 1024;

// --discovery-url -> CSP_DISCOVERY_URL
std::string EnvName(const std::string& flag) {
  std::string env = "CSP_";
  for (char c : flag) {
    env.push_back(c == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  }
  return env;
}

std::string_view Trim(std::string_view s) {
  const char* kSpace = " \t\r\n\v\f";
  const size_t begin = s.find_first_not_of(kSpace);
  if (begin == std::string_view::npos) return {};
  const size_t end = s.find_last_not_of(kSpace);
  return s.substr(begin, end - begin + 1);
}

std::string StripTrailingSlashes(std::string url) {
  while (!url.empty() && url.back() == '/') url.pop_back();
  return url;
}

bool IsHttpUrl(std::string_view url) {
  auto has_host_after = [&](std::string_view scheme) {
    return url.substr(0, scheme.size()) == scheme && url.size() > scheme.size();
  };
  return has_host_after("http://") || has_host_after("https://");
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

Result<size_t> UnitMultiplier(std::string_view unit) {
  struct Unit {
    std::string_view name;
    size_t multiplier;
  };
  static constexpr Unit kUnits[] = {
      {"", 1},           {"b", 1},
      {"k", kKiB},       {"kib", kKiB},        {"kb", 1000},
      {"m", kKiB * kKiB}, {"mib", kKiB * kKiB}, {"mb", 1000 * 1000},
      {"g", kKiB * kKiB * kKiB}, {"gib", kKiB * kKiB * kKiB}, {"gb", 1000 * 1000 * 1000},
  };
  for (const Unit& u : kUnits) {
    if (EqualsIgnoreCase(unit, u.name)) return u.multiplier;
  }
  return InvalidArgument("unknown size unit '" + std::string(unit) + "'");
}

// A token goes into an "Authorization: Bearer" header, so it must be one printable word.
Status CheckToken(std::string_view token, std::string_view source) {
  if (token.empty()) return InvalidArgument(std::string(source) + " is empty");
  for (char c : token) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7f) {
      return InvalidArgument(std::string(source) + " must hold one token without spaces or control characters");
    }
  }
  return Ok();
}

Result<std::string> ReadTokenFile(const std::string& path) {
  const std::string flag = "--auth-token-file " + path;
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return InvalidArgument(flag + ": " + std::strerror(errno));
  if (!S_ISREG(st.st_mode)) return InvalidArgument(flag + ": not a regular file");
  // A secret that every local user can read (or rewrite) is no secret.
  if ((st.st_mode & (S_IROTH | S_IWOTH)) != 0) {
    return InvalidArgument(flag + ": must not be accessible to other users (chmod 600 it)");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return InvalidArgument(flag + ": cannot be read");
  std::string content(static_cast<size_t>(kMaxTokenFileBytes) + 1, '\0');
  in.read(content.data(), kMaxTokenFileBytes + 1);
  if (in.bad()) return InvalidArgument(flag + ": cannot be read");
  content.resize(static_cast<size_t>(in.gcount()));
  if (content.size() > static_cast<size_t>(kMaxTokenFileBytes)) return InvalidArgument(flag + ": too large");
  std::string token(Trim(content));
  Status valid = CheckToken(token, flag);
  if (!valid) return valid.error();
  return token;
}

}  // namespace

std::string DefaultAdvertiseUrl(const std::string& host, uint16_t port) {
  std::string h = host;
  if (h.empty() || h == "0.0.0.0" || h == "::" || h == "[::]") h = "127.0.0.1";
  if (h.find(':') != std::string::npos && h.front() != '[') h = "[" + h + "]";
  return "http://" + h + ":" + std::to_string(port);
}

Result<size_t> ParseSize(std::string_view text) {
  const Error bad = InvalidArgument("expected a size such as 1048576, 512KiB or 1MiB, got '" +
                                    std::string(text) + "'");
  size_t digits = 0;
  while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits]))) ++digits;
  if (digits == 0 || digits > 19) return bad;
  Result<size_t> multiplier = UnitMultiplier(Trim(text.substr(digits)));
  if (!multiplier) return bad;
  const unsigned long long amount = std::strtoull(std::string(text.substr(0, digits)).c_str(), nullptr, 10);
  if (amount > std::numeric_limits<size_t>::max() / *multiplier) return bad;
  return static_cast<size_t>(amount) * *multiplier;
}

CommandLine::CommandLine(std::string program, std::string summary, uint16_t default_port)
    : program_(std::move(program)),
      summary_(std::move(summary)),
      default_port_(default_port),
      common_desc_("Common options"),
      component_desc_(program_ + " options") {
  const CommonOptions defaults;
  common_desc_.add_options()
      ("help,h", "print this help and exit")
      ("version", "print the version and exit")
      ("host", po::value<std::string>()->default_value(defaults.host), "address to listen on")
      ("port", po::value<int>()->default_value(default_port), "port to listen on (0 = any free port)")
      ("data-dir", po::value<std::string>()->default_value(defaults.data_dir),
       "directory for the database (:memory: = keep nothing)")
      ("discovery-url", po::value<std::string>()->default_value(defaults.discovery_url),
       "where discovery answers")
      ("advertise-url", po::value<std::string>(),
       "URL to register with discovery (default http://<host>:<port>)")
      ("log-level", po::value<std::string>()->default_value(defaults.log_level),
       "debug, info, warn or error")
      ("threads", po::value<int>()->default_value(defaults.threads), "server worker threads (1-64)")
      ("max-body", po::value<std::string>()->default_value("1MiB"), "largest request body (1KiB-64MiB)")
      ("auth-token-file", po::value<std::string>(),
       "file holding the bearer token that mutating requests must present "
       "(or env CSP_AUTH_TOKEN); must not be readable by other users")
      ("auth-reads", po::bool_switch(), "require the token for reads too");
}

po::options_description_easy_init CommandLine::Add() { return component_desc_.add_options(); }

void CommandLine::AddDuration(const std::string& name, const std::string& default_value,
                              const std::string& help) {
  component_desc_.add_options()(name.c_str(), po::value<std::string>()->default_value(default_value),
                                help.c_str());
  duration_flags_.insert(name);
}

void CommandLine::AddSize(const std::string& name, const std::string& default_value,
                          const std::string& help) {
  component_desc_.add_options()(name.c_str(), po::value<std::string>()->default_value(default_value),
                                help.c_str());
  size_flags_.insert(name);
}

std::string CommandLine::Usage() const {
  std::ostringstream out;
  out << "Usage: " << program_ << " [options]\n\n" << summary_ << "\n\n" << common_desc_;
  if (!component_desc_.options().empty()) out << "\n" << component_desc_;
  out << "\nEvery option can also be set in the environment as CSP_<OPTION> "
         "(e.g. CSP_DISCOVERY_URL); flags win over the environment.\n";
  return out.str();
}

std::optional<int> CommandLine::Parse(int argc, const char* const* argv) {
  return Parse(argc, argv, std::cout, std::cerr);
}

std::optional<int> CommandLine::Parse(int argc, const char* const* argv, std::ostream& out,
                                      std::ostream& err) {
  po::options_description all;
  all.add(common_desc_).add(component_desc_);
  vm_.clear();
  // Boost.PO reports problems by throwing; this is the edge where that becomes an exit code.
  try {
    const int style = po::command_line_style::default_style & ~po::command_line_style::allow_guessing;
    po::parsed_options parsed = po::command_line_parser(argc, argv).options(all).style(style).run();
    // Boost silently drops positional words when none are declared; no binary takes any.
    const std::vector<std::string> stray = po::collect_unrecognized(parsed.options, po::include_positional);
    if (!stray.empty()) {
      err << program_ << ": unexpected argument '" << stray.front() << "'\n";
      return 2;
    }
    po::store(parsed, vm_);
  } catch (const po::error& e) {
    err << program_ << ": " << e.what() << "\n";
    return 2;
  }
  if (vm_.count("help") != 0) {
    out << Usage();
    return 0;
  }
  if (vm_.count("version") != 0) {
    out << program_ << " " << CSP_VERSION << "\n";
    return 0;
  }
  try {
    // store() keeps values already set, so the command line wins over the environment.
    po::store(po::parse_environment(all,
                                    [&all](const std::string& env) -> std::string {
                                      for (const auto& option : all.options()) {
                                        const std::string& name = option->long_name();
                                        if (name == "help" || name == "version") continue;
                                        if (EnvName(name) == env) return name;
                                      }
                                      return "";
                                    }),
              vm_);
    po::notify(vm_);
  } catch (const po::error_with_option_name& e) {
    std::string option = e.get_option_name();
    option.erase(0, option.find_first_not_of('-'));
    err << program_ << ": " << EnvName(option) << " (environment): " << e.what() << "\n";
    return 2;
  } catch (const po::error& e) {
    err << program_ << ": environment: " << e.what() << "\n";
    return 2;
  }
  Status loaded = LoadCommon();
  if (loaded) loaded = CheckTypedFlags();
  if (!loaded) {
    err << program_ << ": " << loaded.error().message << "\n";
    return 2;
  }
  return std::nullopt;
}

Status CommandLine::LoadCommon() {
  CommonOptions c;
  c.host = GetString("host");
  if (c.host.empty()) return InvalidArgument("--host: must not be empty");

  const int64_t port = GetInt("port");
  if (port < 0 || port > 65535) {
    return InvalidArgument("--port: must be between 0 and 65535, got " + std::to_string(port));
  }
  c.port = static_cast<uint16_t>(port);

  c.data_dir = GetString("data-dir");
  if (c.data_dir.empty()) return InvalidArgument("--data-dir: must not be empty");

  c.discovery_url = StripTrailingSlashes(GetString("discovery-url"));
  if (!IsHttpUrl(c.discovery_url)) {
    return InvalidArgument("--discovery-url: expected an http:// or https:// URL, got '" + c.discovery_url + "'");
  }
  if (Has("advertise-url")) {
    c.advertise_url = StripTrailingSlashes(GetString("advertise-url"));
    if (!IsHttpUrl(c.advertise_url)) {
      return InvalidArgument("--advertise-url: expected an http:// or https:// URL, got '" + c.advertise_url + "'");
    }
  } else if (c.port != 0) {
    c.advertise_url = DefaultAdvertiseUrl(c.host, c.port);
  }

  c.log_level = GetString("log-level");
  Result<log::Level> level = log::ParseLevel(c.log_level);
  if (!level) return level.error().WithPrefix("--log-level");

  const int64_t threads = GetInt("threads");
  if (threads < 1 || threads > kMaxThreads) {
    return InvalidArgument("--threads: must be between 1 and 64, got " + std::to_string(threads));
  }
  c.threads = static_cast<int>(threads);

  Result<size_t> max_body = GetSize("max-body");
  if (!max_body) return max_body.error();
  if (*max_body < kMinBody || *max_body > kMaxBody) {
    return InvalidArgument("--max-body: must be between 1KiB and 64MiB, got " + GetString("max-body"));
  }
  c.max_body = *max_body;

  c.auth_reads = GetBool("auth-reads");
  common_ = std::move(c);
  return LoadAuthToken();
}

Status CommandLine::LoadAuthToken() {
  if (Has("auth-token-file")) {
    common_.auth_token_file = GetString("auth-token-file");
    Result<std::string> token = ReadTokenFile(common_.auth_token_file);
    if (!token) return token.error();
    common_.auth_token = std::move(*token);
  } else if (const char* env = std::getenv("CSP_AUTH_TOKEN"); env != nullptr && *env != '\0') {
    std::string token(Trim(env));
    Status valid = CheckToken(token, "CSP_AUTH_TOKEN");
    if (!valid) return valid;
    common_.auth_token = std::move(token);
  }
  if (common_.auth_reads && common_.auth_token.empty()) {
    return InvalidArgument("--auth-reads: needs --auth-token-file or CSP_AUTH_TOKEN");
  }
  return Ok();
}

Status CommandLine::CheckTypedFlags() const {
  for (const std::string& name : duration_flags_) {
    Result<std::chrono::milliseconds> d = GetDuration(name);
    if (!d) return d.error();
  }
  for (const std::string& name : size_flags_) {
    Result<size_t> s = GetSize(name);
    if (!s) return s.error();
  }
  return Ok();
}

std::string CommandLine::GetString(const std::string& name) const { return vm_[name].as<std::string>(); }

int64_t CommandLine::GetInt(const std::string& name) const {
  const boost::any& v = vm_[name].value();
  if (const auto* p = boost::any_cast<int>(&v)) return *p;
  if (const auto* p = boost::any_cast<long>(&v)) return *p;
  if (const auto* p = boost::any_cast<long long>(&v)) return *p;
  if (const auto* p = boost::any_cast<unsigned>(&v)) return *p;
  if (const auto* p = boost::any_cast<uint16_t>(&v)) return *p;
  if (const auto* p = boost::any_cast<unsigned long>(&v)) return static_cast<int64_t>(*p);
  if (const auto* p = boost::any_cast<unsigned long long>(&v)) return static_cast<int64_t>(*p);
  throw boost::bad_any_cast();
}

bool CommandLine::GetBool(const std::string& name) const { return vm_[name].as<bool>(); }

bool CommandLine::Has(const std::string& name) const { return vm_.count(name) != 0; }

bool CommandLine::WasSet(const std::string& name) const {
  return vm_.count(name) != 0 && !vm_[name].defaulted();
}

Result<std::chrono::milliseconds> CommandLine::GetDuration(const std::string& name) const {
  const boost::any& v = vm_[name].value();
  if (const auto* text = boost::any_cast<std::string>(&v)) {
    Result<std::chrono::milliseconds> d = ParseDuration(*text);
    if (!d) return d.error().WithPrefix("--" + name);
    return d;
  }
  const int64_t seconds = GetInt(name);
  if (seconds < 0) return InvalidArgument("--" + name + ": must not be negative");
  return std::chrono::milliseconds(std::chrono::seconds(seconds));
}

Result<size_t> CommandLine::GetSize(const std::string& name) const {
  const boost::any& v = vm_[name].value();
  if (const auto* text = boost::any_cast<std::string>(&v)) {
    Result<size_t> s = ParseSize(*text);
    if (!s) return s.error().WithPrefix("--" + name);
    return s;
  }
  const int64_t bytes = GetInt(name);
  if (bytes < 0) return InvalidArgument("--" + name + ": must not be negative");
  return static_cast<size_t>(bytes);
}

}  // namespace csp::config
