#include "flags.h"

#include <algorithm>

namespace csp::bench {

Result<Flags> Flags::Parse(const std::vector<std::string>& args, const std::vector<std::string>& known) {
  Flags flags;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& word = args[i];
    if (word.rfind("--", 0) != 0) return InvalidArgument("unexpected argument '" + word + "'");
    std::string name = word.substr(2);
    std::string value;
    // Both "--name value" and "--name=value".
    if (auto eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name.resize(eq);
    } else {
      if (i + 1 >= args.size()) return InvalidArgument("--" + name + ": needs a value");
      value = args[++i];
    }
    if (std::find(known.begin(), known.end(), name) == known.end()) {
      return InvalidArgument("unknown flag --" + name);
    }
    flags.values_[name].push_back(std::move(value));
  }
  return flags;
}

std::string Flags::String(const std::string& name, const std::string& fallback) const {
  auto it = values_.find(name);
  return it == values_.end() ? fallback : it->second.back();
}

Result<int64_t> Flags::Int(const std::string& name, int64_t fallback) const {
  auto it = values_.find(name);
  if (it == values_.end()) return fallback;
  const std::string& v = it->second.back();
  if (v.empty() || v.size() > 18 || !std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return InvalidArgument("--" + name + ": expected a non-negative integer, got '" + v + "'");
  }
  return std::stoll(v);
}

std::vector<std::string> Flags::All(const std::string& name) const {
  auto it = values_.find(name);
  return it == values_.end() ? std::vector<std::string>{} : it->second;
}

std::vector<std::string> Flags::Missing(const std::vector<std::string>& required) const {
  std::vector<std::string> out;
  for (const auto& r : required) {
    if (!Has(r)) out.push_back("--" + r);
  }
  return out;
}

}  // namespace csp::bench
