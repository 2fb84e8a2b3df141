#pragma once
// The load driver's flags: "--name value" pairs after the subcommand, each name declared by the
// subcommand. A flag may repeat (--pid); the last value wins for the single-value getters.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "csp/core/result.h"

namespace csp::bench {

class Flags {
 public:
  // Parses args (the words after the subcommand). An undeclared name, a word that is not a flag,
  // or a flag without a value is kInvalidArgument naming it.
  static Result<Flags> Parse(const std::vector<std::string>& args, const std::vector<std::string>& known);

  bool Has(const std::string& name) const { return values_.count(name) != 0; }
  std::string String(const std::string& name, const std::string& fallback = "") const;
  // A non-negative integer; a value that is not one is kInvalidArgument naming the flag.
  Result<int64_t> Int(const std::string& name, int64_t fallback) const;
  std::vector<std::string> All(const std::string& name) const;
  // The named flags that were not given, for "missing required flag" messages.
  std::vector<std::string> Missing(const std::vector<std::string>& required) const;

 private:
  std::map<std::string, std::vector<std::string>> values_;
};

}  // namespace csp::bench
