#include "routes.h"

#include <cctype>

#include "csp/http/message.h"
#include "csp/log/log.h"

namespace csp::engine {
namespace {

bool IsBlank(const std::string& s) {
  for (char c : s) {
    if (!std::isspace(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

// A missing body is "no message" (the original answers it with its format error, or a noop for
// /revert); a body that is not JSON is the platform's 400 invalid_json.
Result<json::Value> MessageOf(const http::Request& req) {
  if (IsBlank(req.body)) return json::Value();
  return req.JsonBody();
}

Result<std::optional<int64_t>> QueryLimit(const http::Request& req) {
  std::optional<std::string> text = req.Query("limit");
  if (!text) return std::optional<int64_t>();
  if (text->empty() || text->size() > 9) return InvalidArgument("limit: expected a positive integer");
  int64_t limit = 0;
  for (char c : *text) {
    if (c < '0' || c > '9') return InvalidArgument("limit: expected a positive integer");
    limit = limit * 10 + (c - '0');
  }
  return std::optional<int64_t>(limit);
}

http::Response ToResponse(const CommandReply& reply) {
  http::Response r = reply.body ? http::Response::Json(reply.status, *reply.body) : http::Response::Empty(reply.status);
  if (reply.replayed) r.WithHeader("Idempotent-Replayed", "true");
  return r;
}

// The metrics label: a declared command's name, else "-" (bounded cardinality whatever clients send).
std::string CommandLabel(const Design& design, const json::Value& message) {
  const json::Value* command = message.Find("command");
  if (command == nullptr || !command->IsString() || design.FindCommand(command->AsString()) == nullptr) return "-";
  return command->AsString();
}

http::Handler CommandRoute(Engine& engine, EngineMetrics metrics, Mode mode) {
  return [&engine, metrics, mode](const http::Request& req) {
    Result<json::Value> message = MessageOf(req);
    if (!message) return http::Response::FromError(message.error());
    Result<std::optional<int64_t>> limit = QueryLimit(req);
    if (!limit) return http::Response::FromError(limit.error());
    PageRequest page;
    page.limit = *limit;
    page.after = req.Query("after");

    Result<CommandReply> reply = engine.Handle(*message, mode, page);
    const std::string label = CommandLabel(engine.design(), *message);
    if (!reply) {
      http::Response r = http::Response::FromError(reply.error());
      metrics.commands.Inc({{"command", label}, {"status", std::to_string(r.status)}});
      return r;
    }
    metrics.commands.Inc({{"command", label}, {"status", std::to_string(reply->status)}});
    return ToResponse(*reply);
  };
}

http::Handler RevertRoute(Engine& engine, EngineMetrics metrics) {
  return [&engine, metrics](const http::Request& req) {
    Result<json::Value> body = MessageOf(req);
    if (!body) return http::Response::FromError(body.error());
    Result<CommandReply> reply = engine.Revert(*body);
    if (!reply) {
      metrics.reverts.Inc({{"outcome", "error"}});
      return http::Response::FromError(reply.error());
    }
    const json::Value* status = reply->body ? reply->body->Find("status") : nullptr;
    metrics.reverts.Inc({{"outcome", status != nullptr && status->IsString() ? status->AsString() : "error"}});
    return ToResponse(*reply);
  };
}

json::Object BaseForm(std::string rel, std::string method, std::string href, json::Array input, std::string output) {
  return json::Object{{"rel", std::move(rel)},
                      {"method", std::move(method)},
                      {"href", std::move(href)},
                      {"input", json::Value(std::move(input))},
                      {"output", std::move(output)}};
}

json::Array Strings(const std::vector<std::string>& names, bool drop_id) {
  json::Array out;
  for (const std::string& n : names) {
    if (!(drop_id && n == "id")) out.emplace_back(n);
  }
  return out;
}

// How the message-level id is used by a command: "required", "optional" (generated when
// missing), or "none".
std::string IdUse(const CommandSpec& command) {
  switch (command.verb) {
    case Verb::kCreate:
      return command.HasRule("generateIfMissing") ? "optional" : "required";
    case Verb::kRead:
    case Verb::kUpdate:
    case Verb::kStatus:
    case Verb::kDelete:
      return "required";
    case Verb::kList:
    case Verb::kFilter:
    case Verb::kNone:
      break;
  }
  return "none";
}

json::Object FieldsOf(const Design& design, const CommandSpec& command) {
  json::Object fields;
  auto describe = [&](const std::string& name) {
    if (name == "id" || fields.Contains(name)) return;
    const FieldSchema* schema = design.FieldFor(command, name);
    json::Object f;
    if (schema != nullptr && !schema->type.empty()) f.Set("type", schema->type);
    if (schema != nullptr && !schema->format.empty()) f.Set("format", schema->format);
    if (schema != nullptr && schema->enum_values) f.Set("enum", json::Value(*schema->enum_values));
    fields.Set(name, json::Value(std::move(f)));
  };
  for (const std::string& n : command.required) describe(n);
  for (const std::string& n : command.optional) describe(n);
  return fields;
}

json::Object CommandForm(const Design& design, const CommandSpec& command, const std::string& base) {
  json::Object input{{"id", IdUse(command)},
                     {"required", json::Value(Strings(command.required, true))},
                     {"optional", json::Value(Strings(command.optional, true))},
                     {"defaults", json::Value(command.defaults)},
                     {"fields", json::Value(FieldsOf(design, command))}};
  json::Object output{{"type", command.output_type.empty() ? design.resource_type : command.output_type},
                      {"returns", command.returns}};
  if (command.status_code) output.Set("statusCode", *command.status_code);
  json::Object form{{"rel", "command"},
                    {"name", command.name},
                    {"method", "POST"},
                    {"href", base + "/execute"},
                    {"resource", design.resource_type},
                    {"description", command.description},
                    {"implemented", command.verb != Verb::kNone},
                    {"input", json::Value(std::move(input))},
                    {"output", json::Value(std::move(output))}};
  if (command.transition) {
    form.Set("transitionType", json::Object{{"safe", command.transition->safe},
                                            {"idempotent", command.transition->idempotent},
                                            {"reversible", command.transition->reversible}});
  }
  return form;
}

}  // namespace

json::Value BuildForms(const Design& design, const std::string& base) {
  const std::string ccm = "{ command, resource, id?, payload?, metadata?, requestId? }";
  json::Array forms;
  forms.emplace_back(BaseForm("ping", "GET", base + "/ping", {}, "{ status: \"ok\" }"));
  forms.emplace_back(BaseForm("execute", "POST", base + "/execute", {json::Value(ccm)}, "{ result }"));
  forms.emplace_back(BaseForm("repeat", "POST", base + "/repeat", {json::Value(ccm)}, "{ result }"));
  forms.emplace_back(BaseForm("revert", "POST", base + "/revert", {json::Value("{ requestId }")},
                              "{ status: \"reverted\" | \"noop\" | \"already-reverted\", requestId }"));
  forms.emplace_back(BaseForm("design", "GET", base + "/design", {}, "design.json"));
  forms.emplace_back(BaseForm("forms", "GET", base + "/forms", {}, "[ form ]"));
  for (const CommandSpec& command : design.commands) forms.emplace_back(CommandForm(design, command, base));
  return json::Value(std::move(forms));
}

EngineMetrics RegisterMetrics(http::MetricsRegistry& registry, Engine& engine) {
  http::Counter& commands =
      registry.AddCounter("engine_commands_total", "Command messages handled, by command and reply status.");
  http::Counter& reverts = registry.AddCounter("engine_reverts_total", "Revert requests, by outcome.");
  registry.AddGaugeFunction("engine_records", "Records in the engine's store.", [&engine]() {
    std::vector<std::pair<http::Labels, double>> out;
    Result<int64_t> count = engine.RecordCount();
    if (count) out.emplace_back(http::Labels{}, static_cast<double>(*count));
    return out;
  });
  return {commands, reverts};
}

void AddRoutes(http::Router& router, Engine& engine, EngineMetrics metrics) {
  router.Post("/execute", CommandRoute(engine, metrics, Mode::kExecute));
  router.Post("/repeat", CommandRoute(engine, metrics, Mode::kRepeat));
  router.Post("/revert", RevertRoute(engine, metrics));
  router.Get("/forms", [&engine](const http::Request& req) {
    return http::Response::Json(200, BuildForms(engine.design(), req.BaseUrl()));
  });
  router.Get("/design", [&engine](const http::Request&) { return http::Response::Json(200, engine.design().raw); });
  router.Get("/", [&engine](const http::Request&) {
    const Design& d = engine.design();
    return http::Response::Json(200, json::Object{{"name", d.service_info.service_name},
                                                  {"version", d.version},
                                                  {"title", d.title},
                                                  {"resourceType", d.resource_type},
                                                  {"engine", CSP_VERSION}});
  });
}

}  // namespace csp::engine
