#pragma once
// JSON Pointer, RFC 6901: "/a/b~1c/0" addresses a["b/c"][0]; "" is the whole document; "~0" is "~";
// "-" names the element past the end of an array (valid only as the target of an add).

#include <string>
#include <string_view>
#include <vector>

#include "csp/core/result.h"
#include "csp/json/value.h"

namespace csp::json {

class Pointer {
 public:
  // Errors (kInvalidArgument): not empty and not starting with '/', or '~' not followed by 0 or 1.
  static Result<Pointer> Parse(std::string_view text);
  static Pointer FromTokens(std::vector<std::string> tokens);

  const std::vector<std::string>& tokens() const { return tokens_; }
  bool IsRoot() const { return tokens_.empty(); }
  // The pointer to the parent container; the root's parent is the root.
  Pointer Parent() const;
  const std::string& Last() const { return tokens_.back(); }  // !IsRoot()
  Pointer Child(std::string token) const;
  // Back to text, escaping '~' and '/'.
  std::string ToString() const;
  // True when this pointer is a proper prefix of other ("/a" of "/a/b").
  bool IsPrefixOf(const Pointer& other) const;

 private:
  std::vector<std::string> tokens_;
};

// Resolution. Array tokens must be canonical decimal ("0", "12"; not "01", not "-", not "+1").
// Find returns nullptr when nothing is there (including through a scalar or past an array's end).
const Value* Find(const Value& doc, const Pointer& ptr);
Value* Find(Value& doc, const Pointer& ptr);

// Errors name the pointer and the reason: kNotFound when the target is absent; kInvalidArgument
// when a token cannot index the container (a non-number into an array, anything into a scalar).
Result<const Value*> Get(const Value& doc, const Pointer& ptr);

// The shared-state "add" op (the original's, with real pointers): sets the value at ptr, creating
// missing intermediate *objects*; "-" appends to an array; an array index <= size inserts (RFC 6902
// add semantics); an index past the end, or a path through a scalar or null, is kInvalidArgument.
// ptr == root replaces doc.
Status SetCreating(Value& doc, const Pointer& ptr, Value value);

}  // namespace csp::json
