// Parse and dump through RapidJSON's SAX interfaces, straight into and out of csp::json::Value.
#include "csp/json/json.h"

#include <rapidjson/error/en.h>
#include <rapidjson/prettywriter.h>
#include <rapidjson/reader.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <cmath>
#include <vector>

namespace csp::json {

namespace {

// Builds a Value from SAX events with an explicit stack, so depth is bounded by ParseOptions and
// never by the C++ call stack.
class Builder {
 public:
  explicit Builder(int max_depth) : max_depth_(max_depth) {}

  bool Null() { return Add(Value()); }
  bool Bool(bool b) { return Add(Value(b)); }
  bool Int(int i) { return Add(Value(i)); }
  bool Uint(unsigned u) { return Add(Value(u)); }
  bool Int64(int64_t i) { return Add(Value(static_cast<long long>(i))); }
  bool Uint64(uint64_t u) { return Add(Value(static_cast<unsigned long long>(u))); }
  bool Double(double d) { return Add(Value(d)); }
  bool RawNumber(const char*, rapidjson::SizeType, bool) { return false; }
  bool String(const char* s, rapidjson::SizeType len, bool) { return Add(Value(std::string(s, len))); }
  bool Key(const char* s, rapidjson::SizeType len, bool) {
    keys_.emplace_back(s, len);
    return true;
  }
  bool StartObject() { return Open(Value::MakeObject()); }
  bool EndObject(rapidjson::SizeType) { return Close(); }
  bool StartArray() { return Open(Value::MakeArray()); }
  bool EndArray(rapidjson::SizeType) { return Close(); }

  bool depth_exceeded() const { return depth_exceeded_; }
  Value Take() { return std::move(root_); }

 private:
  bool Open(Value container) {
    if (static_cast<int>(stack_.size()) >= max_depth_) {
      depth_exceeded_ = true;
      return false;
    }
    stack_.push_back(std::move(container));
    return true;
  }

  bool Close() {
    Value done = std::move(stack_.back());
    stack_.pop_back();
    return Add(std::move(done));
  }

  bool Add(Value v) {
    if (stack_.empty()) {
      root_ = std::move(v);
      return true;
    }
    Value& top = stack_.back();
    if (top.IsArray()) {
      top.AsArray().push_back(std::move(v));
      return true;
    }
    // Duplicate keys: the last one wins, as in JavaScript's JSON.parse.
    top.AsObject().Set(std::move(keys_.back()), std::move(v));
    keys_.pop_back();
    return true;
  }

  int max_depth_;
  bool depth_exceeded_ = false;
  std::vector<Value> stack_;
  std::vector<std::string> keys_;
  Value root_;
};

template <typename Writer>
void Write(const Value& v, Writer& w) {
  switch (v.type()) {
    case Type::kNull: w.Null(); return;
    case Type::kBool: w.Bool(v.AsBool()); return;
    case Type::kInt: w.Int64(v.AsInt()); return;
    case Type::kDouble: {
      double d = v.AsDouble();
      if (!std::isfinite(d)) {
        w.Null();
        return;
      }
      w.Double(d);
      return;
    }
    case Type::kString:
      w.String(v.AsString().data(), static_cast<rapidjson::SizeType>(v.AsString().size()));
      return;
    case Type::kArray:
      w.StartArray();
      for (const Value& e : v.AsArray()) Write(e, w);
      w.EndArray();
      return;
    case Type::kObject:
      w.StartObject();
      for (const auto& [key, value] : v.AsObject()) {
        w.Key(key.data(), static_cast<rapidjson::SizeType>(key.size()));
        Write(value, w);
      }
      w.EndObject();
      return;
  }
}

}  // namespace

Result<Value> Parse(std::string_view text, const ParseOptions& options) {
  Builder builder(options.max_depth);
  rapidjson::Reader reader;
  rapidjson::MemoryStream ms(text.data(), text.size());
  // Full precision doubles, invalid UTF-8 rejected, and trailing text checked below.
  constexpr unsigned kFlags = rapidjson::kParseFullPrecisionFlag | rapidjson::kParseStopWhenDoneFlag |
                             rapidjson::kParseValidateEncodingFlag;
  rapidjson::ParseResult r = reader.Parse<kFlags>(ms, builder);
  if (builder.depth_exceeded()) {
    return Error(ErrorCode::kInvalidJson, "offset " + std::to_string(r.Offset()) + ": nesting deeper than " +
                                              std::to_string(options.max_depth));
  }
  if (r.IsError()) {
    return Error(ErrorCode::kInvalidJson,
                 "offset " + std::to_string(r.Offset()) + ": " + rapidjson::GetParseError_En(r.Code()));
  }
  // kParseStopWhenDoneFlag stops after the root; anything but white space after it is an error.
  size_t end = ms.Tell();
  for (size_t i = end; i < text.size(); ++i) {
    char c = text[i];
    if (c != ' ' && c != '\t' && c != '\n' && c != '\r') {
      return Error(ErrorCode::kInvalidJson,
                   "offset " + std::to_string(i) + ": The document root must not be followed by other values.");
    }
  }
  return builder.Take();
}

std::string Dump(const Value& v) {
  rapidjson::StringBuffer sb;
  rapidjson::Writer<rapidjson::StringBuffer> w(sb);
  Write(v, w);
  return std::string(sb.GetString(), sb.GetSize());
}

std::string DumpPretty(const Value& v) {
  rapidjson::StringBuffer sb;
  rapidjson::PrettyWriter<rapidjson::StringBuffer> w(sb);
  w.SetIndent(' ', 2);
  Write(v, w);
  return std::string(sb.GetString(), sb.GetSize());
}

int Depth(const Value& v) {
  int deepest = 0;
  if (v.IsArray()) {
    for (const Value& e : v.AsArray()) deepest = std::max(deepest, Depth(e));
    return deepest + 1;
  }
  if (v.IsObject()) {
    for (const auto& m : v.AsObject()) deepest = std::max(deepest, Depth(m.second));
    return deepest + 1;
  }
  return 0;
}

}  // namespace csp::json
