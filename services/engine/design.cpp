#include "design.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "csp/json/getters.h"
#include "csp/json/json.h"
#include "inputs.h"

namespace csp::engine {
namespace {

struct VerbName {
  std::string_view name;
  Verb verb;
};

constexpr VerbName kVerbs[] = {
    {"create", Verb::kCreate}, {"read", Verb::kRead}, {"update", Verb::kUpdate}, {"status", Verb::kStatus},
    {"delete", Verb::kDelete}, {"list", Verb::kList}, {"filter", Verb::kFilter},
};

// Collects problems instead of stopping at the first, so a designer fixes them all in one go.
class Checker {
 public:
  void Problem(std::string_view path, std::string_view what) {
    problems_.push_back(std::string(path.empty() ? "design" : path) + ": " + std::string(what));
  }

  // Each Expect* records a problem and returns false when v is not of the type.
  bool ExpectObject(const json::Value& v, std::string_view path) {
    if (v.IsObject()) return true;
    Problem(path, "expected an object");
    return false;
  }
  bool ExpectString(const json::Value& v, std::string_view path) {
    if (v.IsString()) return true;
    Problem(path, "expected a string");
    return false;
  }
  bool ExpectNonEmptyString(const json::Value& v, std::string_view path) {
    if (!ExpectString(v, path)) return false;
    if (!v.AsString().empty()) return true;
    Problem(path, "must not be empty");
    return false;
  }
  bool ExpectBool(const json::Value& v, std::string_view path) {
    if (v.IsBool()) return true;
    Problem(path, "expected a boolean");
    return false;
  }
  bool ExpectStringArray(const json::Value& v, std::string_view path) {
    if (!v.IsArray()) {
      Problem(path, "expected an array of strings");
      return false;
    }
    bool ok = true;
    for (size_t i = 0; i < v.AsArray().size(); ++i) ok = ExpectString(v.AsArray()[i], json::JoinPath(path, i)) && ok;
    return ok;
  }

  // Optional member: absent is fine; present must satisfy check.
  template <typename Check>
  void Optional(const json::Value& obj, std::string_view key, std::string_view path, Check check) {
    const json::Value* v = obj.Find(key);
    if (v != nullptr) check(*v, json::JoinPath(path, key));
  }
  template <typename Check>
  bool Required(const json::Value& obj, std::string_view key, std::string_view path, Check check) {
    const json::Value* v = obj.Find(key);
    if (v == nullptr) {
      Problem(json::JoinPath(path, key), "is required");
      return false;
    }
    return check(*v, json::JoinPath(path, key));
  }

  // A problem whose message already names its path.
  void AddLine(std::string line) { problems_.push_back(std::move(line)); }

  std::vector<std::string> Take() { return std::move(problems_); }

 private:
  std::vector<std::string> problems_;
};

void CheckServiceInfo(Checker& c, const json::Value& info, const std::string& path) {
  if (!c.ExpectObject(info, path)) return;
  c.Required(info, "serviceName", path,
             [&](const json::Value& v, const std::string& p) { return c.ExpectNonEmptyString(v, p); });
  auto string = [&](const json::Value& v, const std::string& p) { c.ExpectString(v, p); };
  auto strings = [&](const json::Value& v, const std::string& p) { c.ExpectStringArray(v, p); };
  c.Optional(info, "description", path, string);
  c.Optional(info, "tags", path, strings);
  c.Optional(info, "semanticProfile", path, string);
  c.Optional(info, "mediaTypes", path, strings);
}

void CheckField(Checker& c, const json::Value& field, const std::string& path) {
  if (!c.ExpectObject(field, path)) return;
  c.Optional(field, "type", path, [&](const json::Value& v, const std::string& p) { c.ExpectString(v, p); });
  c.Optional(field, "format", path, [&](const json::Value& v, const std::string& p) { c.ExpectString(v, p); });
  c.Optional(field, "enum", path, [&](const json::Value& v, const std::string& p) {
    if (!v.IsArray() || v.AsArray().empty()) c.Problem(p, "expected a non-empty array");
  });
}

void CheckResourceSchema(Checker& c, const json::Value& schema, const std::string& path) {
  if (!c.ExpectObject(schema, path)) return;
  for (const auto& [type, fields] : schema.AsObject()) {
    const std::string type_path = json::JoinPath(path, type);
    if (!c.ExpectObject(fields, type_path)) continue;
    for (const auto& [name, field] : fields.AsObject()) CheckField(c, field, json::JoinPath(type_path, name));
  }
}

void CheckInputs(Checker& c, const json::Value& inputs, const std::string& path) {
  if (!c.ExpectObject(inputs, path)) return;
  auto strings = [&](const json::Value& v, const std::string& p) { c.ExpectStringArray(v, p); };
  c.Optional(inputs, "required", path, strings);
  c.Optional(inputs, "optional", path, strings);
  c.Optional(inputs, "defaults", path, [&](const json::Value& v, const std::string& p) { c.ExpectObject(v, p); });
  c.Optional(inputs, "rules", path, [&](const json::Value& v, const std::string& p) {
    if (!v.IsArray()) {
      c.Problem(p, "expected an array");
      return;
    }
    for (size_t i = 0; i < v.AsArray().size(); ++i) {
      const json::Value& rule = v.AsArray()[i];
      const std::string rule_path = json::JoinPath(p, i);
      if (!c.ExpectObject(rule, rule_path)) continue;
      c.Required(rule, "id", rule_path,
                 [&](const json::Value& id, const std::string& ip) { return c.ExpectString(id, ip); });
    }
  });
}

void CheckOutput(Checker& c, const json::Value& output, const std::string& path) {
  if (!c.ExpectObject(output, path)) return;
  auto string = [&](const json::Value& v, const std::string& p) { c.ExpectString(v, p); };
  c.Optional(output, "type", path, string);
  c.Optional(output, "returns", path, string);
  c.Optional(output, "statusCode", path, [&](const json::Value& v, const std::string& p) {
    if (!v.IsInt() || v.AsInt() < 200 || v.AsInt() > 299) c.Problem(p, "expected an integer from 200 to 299");
  });
}

void CheckTransition(Checker& c, const json::Value& transition, const std::string& path) {
  if (!c.ExpectObject(transition, path)) return;
  auto boolean = [&](const json::Value& v, const std::string& p) { c.ExpectBool(v, p); };
  c.Optional(transition, "safe", path, boolean);
  c.Optional(transition, "idempotent", path, boolean);
  c.Optional(transition, "reversible", path, boolean);
}

void CheckCommand(Checker& c, const json::Value& command, const std::string& path) {
  if (!c.ExpectObject(command, path)) return;
  c.Optional(command, "description", path, [&](const json::Value& v, const std::string& p) { c.ExpectString(v, p); });
  c.Optional(command, "transitionType", path,
             [&](const json::Value& v, const std::string& p) { CheckTransition(c, v, p); });
  c.Optional(command, "inputs", path, [&](const json::Value& v, const std::string& p) { CheckInputs(c, v, p); });
  c.Optional(command, "output", path, [&](const json::Value& v, const std::string& p) { CheckOutput(c, v, p); });
}

void CheckCommands(Checker& c, const json::Value& commands, const std::string& path) {
  if (!c.ExpectObject(commands, path)) return;
  if (commands.AsObject().empty()) c.Problem(path, "must declare at least one command");
  for (const auto& [name, command] : commands.AsObject()) CheckCommand(c, command, json::JoinPath(path, name));
}

std::vector<std::string> StringsOf(const json::Value* v) {
  std::vector<std::string> out;
  if (v == nullptr || !v->IsArray()) return out;
  for (const auto& item : v->AsArray()) {
    if (item.IsString()) out.push_back(item.AsString());
  }
  return out;
}

std::string StringOf(const json::Value* v) { return v != nullptr && v->IsString() ? v->AsString() : std::string(); }

const json::Value& MemberOr(const json::Value& obj, std::string_view key, const json::Value& fallback) {
  const json::Value* v = obj.Find(key);
  return v != nullptr ? *v : fallback;
}

FieldMap ParseFields(const json::Value& fields) {
  FieldMap out;
  for (const auto& [name, field] : fields.AsObject()) {
    FieldSchema schema;
    schema.type = StringOf(field.Find("type"));
    schema.format = StringOf(field.Find("format"));
    if (const json::Value* e = field.Find("enum"); e != nullptr && e->IsArray()) schema.enum_values = e->AsArray();
    out.emplace_back(name, std::move(schema));
  }
  return out;
}

CommandSpec ParseCommand(const std::string& name, const json::Value& command) {
  static const json::Value kEmpty = json::Value::MakeObject();
  CommandSpec spec;
  spec.name = name;
  spec.verb = VerbOf(name);
  spec.description = StringOf(command.Find("description"));
  if (const json::Value* t = command.Find("transitionType"); t != nullptr) {
    TransitionType transition;
    transition.safe = t->Find("safe") != nullptr && t->Find("safe")->AsBool();
    transition.idempotent = t->Find("idempotent") != nullptr && t->Find("idempotent")->AsBool();
    transition.reversible = t->Find("reversible") != nullptr && t->Find("reversible")->AsBool();
    spec.transition = transition;
  }
  const json::Value& inputs = MemberOr(command, "inputs", kEmpty);
  spec.required = StringsOf(inputs.Find("required"));
  spec.optional = StringsOf(inputs.Find("optional"));
  if (const json::Value* d = inputs.Find("defaults"); d != nullptr) spec.defaults = d->AsObject();
  if (const json::Value* rules = inputs.Find("rules"); rules != nullptr) {
    for (const auto& rule : rules->AsArray()) spec.rules.push_back(rule.Find("id")->AsString());
  }
  const json::Value& output = MemberOr(command, "output", kEmpty);
  spec.output_type = StringOf(output.Find("type"));
  spec.returns = StringOf(output.Find("returns"));
  if (const json::Value* s = output.Find("statusCode"); s != nullptr) spec.status_code = static_cast<int>(s->AsInt());
  return spec;
}

// Defaults are part of the design, so a default that its own field would reject is a design
// problem found at start-up rather than a 400 on every request.
void CheckDefaults(Checker& c, const Design& design) {
  for (const CommandSpec& command : design.commands) {
    const std::string path = "commands." + command.name + ".inputs.defaults";
    for (const auto& [field, value] : command.defaults) {
      const FieldSchema* schema = design.FieldFor(command, field);
      if (schema == nullptr) continue;
      const std::string field_path = json::JoinPath(path, field);
      if (Status s = CheckEnum(field, value, *schema); !s) {
        c.Problem(field_path, s.error().message);
      } else if (Status t = CheckFieldValue(field_path, value, *schema); !t) {
        c.AddLine(t.error().message);
      }
    }
  }
}

std::vector<std::string> StructuralProblems(const json::Value& doc) {
  Checker c;
  if (!c.ExpectObject(doc, "")) return c.Take();
  auto string = [&](const json::Value& v, const std::string& p) { c.ExpectString(v, p); };
  c.Optional(doc, "title", "", string);
  c.Optional(doc, "version", "", string);
  c.Optional(doc, "description", "", string);
  c.Required(doc, "serviceInfo", "", [&](const json::Value& v, const std::string& p) {
    CheckServiceInfo(c, v, p);
    return true;
  });
  c.Required(doc, "resourceType", "",
             [&](const json::Value& v, const std::string& p) { return c.ExpectNonEmptyString(v, p); });
  c.Optional(doc, "resourceSchema", "",
             [&](const json::Value& v, const std::string& p) { CheckResourceSchema(c, v, p); });
  c.Required(doc, "commands", "", [&](const json::Value& v, const std::string& p) {
    CheckCommands(c, v, p);
    return true;
  });
  c.Optional(doc, "x-strict", "", [&](const json::Value& v, const std::string& p) { c.ExpectBool(v, p); });
  return c.Take();
}

// Only called on a document without structural problems, so every access below is typed.
Design BuildDesign(json::Value doc) {
  Design d;
  d.title = StringOf(doc.Find("title"));
  d.version = StringOf(doc.Find("version"));
  d.description = StringOf(doc.Find("description"));
  const json::Value& info = *doc.Find("serviceInfo");
  d.service_info.service_name = StringOf(info.Find("serviceName"));
  d.service_info.description = StringOf(info.Find("description"));
  d.service_info.tags = StringsOf(info.Find("tags"));
  d.service_info.semantic_profile = StringOf(info.Find("semanticProfile"));
  d.service_info.media_types = StringsOf(info.Find("mediaTypes"));
  d.resource_type = StringOf(doc.Find("resourceType"));
  if (const json::Value* schema = doc.Find("resourceSchema"); schema != nullptr) {
    for (const auto& [type, fields] : schema->AsObject()) d.resource_schema.emplace_back(type, ParseFields(fields));
  }
  for (const auto& [name, command] : doc.Find("commands")->AsObject())
    d.commands.push_back(ParseCommand(name, command));
  const json::Value* strict = doc.Find("x-strict");
  d.strict = strict != nullptr && strict->AsBool();
  d.raw = std::move(doc);
  return d;
}

std::vector<std::string> SemanticProblems(const Design& design) {
  Checker c;
  CheckDefaults(c, design);
  return c.Take();
}

}  // namespace

Verb VerbOf(std::string_view command) {
  for (const VerbName& v : kVerbs) {
    if (v.name == command) return v.verb;
  }
  return Verb::kNone;
}

bool IsReadVerb(Verb verb) { return verb == Verb::kRead || verb == Verb::kList || verb == Verb::kFilter; }

bool CommandSpec::HasRule(std::string_view id) const {
  for (const std::string& rule : rules) {
    if (rule == id) return true;
  }
  return false;
}

const CommandSpec* Design::FindCommand(std::string_view name) const {
  for (const CommandSpec& command : commands) {
    if (command.name == name) return &command;
  }
  return nullptr;
}

const FieldMap* Design::SchemaFor(const CommandSpec& command) const {
  const std::string& type = command.output_type.empty() ? resource_type : command.output_type;
  for (const auto& [name, fields] : resource_schema) {
    if (name == type) return &fields;
  }
  return nullptr;
}

const FieldSchema* Design::FieldFor(const CommandSpec& command, std::string_view field) const {
  const FieldMap* fields = SchemaFor(command);
  if (fields == nullptr) return nullptr;
  for (const auto& [name, schema] : *fields) {
    if (name == field) return &schema;
  }
  return nullptr;
}

std::vector<std::string> ValidateDesign(const json::Value& doc) {
  std::vector<std::string> problems = StructuralProblems(doc);
  if (!problems.empty()) return problems;
  return SemanticProblems(BuildDesign(doc));
}

Result<Design> ParseDesign(json::Value doc) {
  std::vector<std::string> problems = StructuralProblems(doc);
  if (problems.empty()) {
    Design design = BuildDesign(std::move(doc));
    problems = SemanticProblems(design);
    if (problems.empty()) return design;
  }
  std::string joined;
  for (const std::string& problem : problems) {
    if (!joined.empty()) joined += '\n';
    joined += problem;
  }
  return InvalidArgument(std::move(joined));
}

Result<Design> LoadDesignFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return InvalidArgument(path + ": cannot read: " + std::strerror(errno));
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return InvalidArgument(path + ": cannot read: " + std::strerror(errno));
  Result<json::Value> doc = json::Parse(text.str());
  if (!doc) return InvalidArgument(path + ": " + doc.error().message);
  return ParseDesign(std::move(*doc));
}

std::string JoinEnum(const json::Array& values) {
  std::string out;
  for (const json::Value& v : values) {
    if (!out.empty()) out += ", ";
    out += v.IsString() ? v.AsString() : json::Dump(v);
  }
  return out;
}

}  // namespace csp::engine
