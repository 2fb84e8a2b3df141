#include "discovery/routes.h"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <unordered_map>
#include <utility>
#include <vector>

#include "csp/core/time.h"
#include "csp/json/getters.h"

namespace csp::discovery {

namespace {

using http::Method;
using http::Reply;
using http::Request;
using http::Response;

constexpr const char* kIndexHeader = "X-Registry-Index";

// The body as a JSON object; errors are 400 invalid_json or invalid_argument.
Result<json::Value> ObjectBody(const Request& req) {
  auto body = req.JsonBody();
  if (!body) return body.error();
  if (!body->IsObject()) {
    return InvalidArgument("expected a JSON object, got " + std::string(json::TypeName(body->type())));
  }
  return body;
}

// GET /services: one member per serviceName, in the order the names were first registered.
// `entries` come from Find, so each name's first instance is a passing one when there is any.
json::Value ServicesJson(const std::vector<Entry>& entries) {
  struct Group {
    std::string name;
    uint64_t first_seq;
    std::vector<const Entry*> instances;
  };
  std::vector<Group> groups;
  std::unordered_map<std::string, size_t> by_name;
  for (const Entry& e : entries) {
    auto [it, inserted] = by_name.emplace(e.service_name, groups.size());
    if (inserted) groups.push_back(Group{e.service_name, e.seq, {}});
    Group& g = groups[it->second];
    g.first_seq = std::min(g.first_seq, e.seq);
    g.instances.push_back(&e);
  }
  std::sort(groups.begin(), groups.end(), [](const Group& a, const Group& b) { return a.first_seq < b.first_seq; });
  json::Object out;
  for (const Group& g : groups) {
    json::Array instances;
    instances.reserve(g.instances.size());
    for (const Entry* e : g.instances) instances.push_back(EntryToJson(*e));
    const json::Value& first = instances.front();
    out.Set(g.name, json::Object{{"url", *first.Find("serviceURL")},
                                 {"tags", *first.Find("tags")},
                                 {"semanticProfile", *first.Find("semanticProfile")},
                                 {"instances", std::move(instances)}});
  }
  return out;
}

Result<bool> ParseHealthy(const Request& req) {
  auto v = req.Query("healthy");
  if (!v) return false;
  if (v->empty() || *v == "true" || *v == "1") return true;
  if (*v == "false" || *v == "0") return false;
  return InvalidArgument("healthy: expected true or false, got '" + *v + "'");
}

Result<FindQuery> ParseFindQuery(const Request& req) {
  FindQuery q;
  q.tag = req.Query("tag").value_or("");
  q.name = req.Query("name").value_or("");
  q.profile = req.Query("profile").value_or("");
  q.media_type = req.Query("mediaType").value_or("");
  auto healthy = ParseHealthy(req);
  if (!healthy) return healthy.error();
  q.healthy_only = *healthy;
  return q;
}

struct Blocking {
  std::optional<uint64_t> index;  // absent: answer at once
  std::chrono::milliseconds wait{0};
};

Result<uint64_t> ParseIndex(const std::string& text) {
  Error bad = InvalidArgument("index: expected a non-negative integer, got '" + text + "'");
  if (text.empty() || text.size() > 20) return bad;
  for (char c : text) {
    if (c < '0' || c > '9') return bad;
  }
  errno = 0;
  unsigned long long v = std::strtoull(text.c_str(), nullptr, 10);
  if (errno == ERANGE) return bad;
  return static_cast<uint64_t>(v);
}

Result<Blocking> ParseBlocking(const Request& req, std::chrono::milliseconds max_wait) {
  Blocking b;
  auto index_text = req.Query("index");
  auto wait_text = req.Query("wait");
  if (wait_text) {
    auto wait = ParseDuration(*wait_text);
    if (!wait) return wait.error().WithPrefix("wait");
    b.wait = std::min(*wait, max_wait);
  } else {
    b.wait = max_wait;
  }
  if (index_text) {
    auto index = ParseIndex(*index_text);
    if (!index) return index.error();
    b.index = *index;
  }
  return b;
}

using Render = Response (*)(const Registry&, const FindQuery&);

Response RenderFind(const Registry& registry, const FindQuery& q) {
  FindText found = registry.FindJson(q);
  return Response::Text(200, std::move(found.json), "application/json").WithHeader(kIndexHeader, std::to_string(found.index));
}

Response RenderServices(const Registry& registry, const FindQuery& q) {
  FindResult r = registry.Find(q);
  return Response::Json(200, ServicesJson(r.entries)).WithHeader(kIndexHeader, std::to_string(r.index));
}

// Answers at once, or parks the reply until the registry's index moves past ?index= (or the
// wait ends). An ?index= other than the current one answers at once: either a change happened
// since, or the index went backwards (discovery restarted) and the watcher must resync.
void ServeBlocking(Registry& registry, WaitList& waits, const Request& req, Reply reply,
                   std::chrono::milliseconds max_wait, Render render) {
  auto query = ParseFindQuery(req);
  if (!query) return reply(Response::FromError(query.error()));
  auto blocking = ParseBlocking(req, max_wait);
  if (!blocking) return reply(Response::FromError(blocking.error()));
  auto answer = [&registry, q = std::move(*query), reply, render] { reply(render(registry, q)); };
  if (!blocking->index || blocking->wait.count() == 0 || registry.index() != *blocking->index) return answer();
  waits.Wait(*blocking->index, std::chrono::steady_clock::now() + blocking->wait, std::move(answer));
}

Response Register(Registry& registry, const Request& req) {
  auto body = req.JsonBody();
  if (!body) return Response::FromError(body.error());
  auto registration = ParseRegistration(*body);
  if (!registration) return Response::FromError(registration.error());
  auto result = registry.Register(*registration);
  if (!result) return Response::FromError(result.error());
  return Response::Json(result->created ? 201 : 200, json::Object{{"registryID", result->registry_id}})
      .WithHeader("Location", "/services/" + result->registry_id);
}

Response Renew(Registry& registry, const Request& req) {
  auto body = ObjectBody(req);
  if (!body) return Response::FromError(body.error());
  auto id = json::GetString(*body, "registryID");
  if (!id) return Response::FromError(id.error());
  if (Status s = registry.Renew(*id); !s) return Response::FromError(s.error());
  return Response::Json(200, json::Object{{"status", "renewed"}});
}

Response Unregister(Registry& registry, const Request& req) {
  auto body = ObjectBody(req);
  if (!body) return Response::FromError(body.error());
  auto id = json::GetOptionalString(*body, "registryID");
  if (!id) return Response::FromError(id.error());
  auto url = json::GetOptionalString(*body, "serviceURL");
  if (!url) return Response::FromError(url.error());
  auto name = json::GetOptionalString(*body, "serviceName");
  if (!name) return Response::FromError(name.error());
  if (id->has_value()) {
    if (Status s = registry.Unregister(**id); !s) return Response::FromError(s.error());
    return Response::Empty(204);
  }
  if (url->has_value()) {
    auto removed = registry.UnregisterByUrl(**url, name->value_or(""));
    if (!removed) return Response::FromError(removed.error());
    return Response::Empty(204);
  }
  return Response::FromError(InvalidArgument("registryID: is required (or serviceURL, or serviceName and serviceURL)"));
}

Response GetService(Registry& registry, const Request& req) {
  auto entry = registry.Get(req.Param("id"));
  if (!entry) return Response::FromError(NotFound(std::string(kServiceNotFound)));
  return Response::Json(200, EntryToJson(*entry));
}

Response DeleteService(Registry& registry, const Request& req) {
  if (Status s = registry.Unregister(req.Param("id")); !s) return Response::FromError(s.error());
  return Response::Empty(204);
}

Response Bind(Registry& registry, const Request& req) {
  auto body = ObjectBody(req);
  if (!body) return Response::FromError(body.error());
  auto source = json::GetString(*body, "sourceRegistryID");
  if (!source) return Response::FromError(source.error());
  auto target = json::GetString(*body, "targetRegistryID");
  if (!target) return Response::FromError(target.error());
  auto binding = registry.Bind(*source, *target);
  if (!binding) return Response::FromError(binding.error());
  return Response::Json(201, json::Object{{"bindingID", binding->binding_id}})
      .WithHeader("Location", "/bindings/" + binding->binding_id);
}

Response Unbind(Registry& registry, const Request& req) {
  auto body = ObjectBody(req);
  if (!body) return Response::FromError(body.error());
  auto id = json::GetString(*body, "bindingID");
  if (!id) return Response::FromError(id.error());
  if (Status s = registry.Unbind(*id); !s) return Response::FromError(s.error());
  return Response::Empty(204);
}

Response ListBindings(Registry& registry) {
  json::Array out;
  for (const Binding& b : registry.Bindings()) out.push_back(BindingToJson(b));
  return Response::Json(200, out);
}

Response GetBinding(Registry& registry, const Request& req) {
  auto binding = registry.GetBinding(req.Param("id"));
  if (!binding) return Response::FromError(NotFound(std::string(kBindingNotFound)));
  return Response::Json(200, BindingToJson(*binding));
}

json::Value Names(std::initializer_list<const char*> names) {
  json::Array out;
  for (const char* n : names) out.emplace_back(n);
  return out;
}

json::Value RegisterInput() {
  return Names({"serviceName", "serviceURL", "tags?", "semanticProfile?", "mediaTypes?", "pingURL?", "ttlSeconds?",
                "metadata?"});
}

// The original's GET /endpoints, entry for entry (notes/original-protocol.md §1).
Response Endpoints(const Request& req) {
  std::string base = req.BaseUrl();
  auto endpoint = [&](const char* method, const char* path, json::Value input, const char* output) {
    return json::Object{{"method", method}, {"url", base + path}, {"input", std::move(input)}, {"output", output}};
  };
  json::Array out{
      endpoint("POST", "/register", RegisterInput(), "{ registryID }"),
      endpoint("POST", "/renew", Names({"registryID"}), "{ status: 'renewed' }"),
      endpoint("POST", "/unregister", Names({"registryID"}), "204 No Content"),
      endpoint("GET", "/find", Names({"tag?", "profile?", "mediaType?", "name?", "healthy?"}), "[ ...serviceEntries ]"),
      endpoint("POST", "/bind", Names({"sourceRegistryID", "targetRegistryID"}), "{ bindingID }"),
      endpoint("POST", "/unbind", Names({"bindingID"}), "204 No Content"),
  };
  return Response::Json(200, out);
}

// GET /forms: the platform's affordance list, hrefs built from Host.
Response Forms(const Request& req) {
  std::string base = req.BaseUrl();
  auto form = [&](const char* rel, const char* method, const char* path, json::Value input, const char* output) {
    return json::Object{
        {"rel", rel}, {"method", method}, {"href", base + path}, {"input", std::move(input)}, {"output", output}};
  };
  json::Array out{
      form("register", "POST", "/register", RegisterInput(), "{ registryID }"),
      form("renew", "POST", "/renew", Names({"registryID"}), "{ status: 'renewed' }"),
      form("unregister", "POST", "/unregister", Names({"registryID?", "serviceURL?", "serviceName?"}),
           "204 No Content"),
      form("find", "GET", "/find", Names({"tag?", "profile?", "mediaType?", "name?", "healthy?", "index?", "wait?"}),
           "[ ...serviceEntries ]"),
      form("services", "GET", "/services", Names({"index?", "wait?"}),
           "{ serviceName: { url, tags, semanticProfile, instances } }"),
      form("bind", "POST", "/bind", Names({"sourceRegistryID", "targetRegistryID"}), "{ bindingID }"),
      form("unbind", "POST", "/unbind", Names({"bindingID"}), "204 No Content"),
  };
  return Response::Json(200, out);
}

}  // namespace

void AddRoutes(http::Router& router, Registry& registry, WaitList& waits, RouteOptions options) {
  Registry* reg = &registry;
  WaitList* wl = &waits;
  auto max_wait = options.max_wait;
  router.Get("/", [version = options.version](const Request&) {
    return Response::Json(200, json::Object{{"name", "discovery"}, {"version", version}});
  });
  router.Post("/register", [reg](const Request& req) { return Register(*reg, req); });
  router.Post("/renew", [reg](const Request& req) { return Renew(*reg, req); });
  router.Post("/unregister", [reg](const Request& req) { return Unregister(*reg, req); });
  router.AddAsync(Method::kGet, "/find", [reg, wl, max_wait](Request req, Reply reply) {
    ServeBlocking(*reg, *wl, req, std::move(reply), max_wait, RenderFind);
  });
  router.AddAsync(Method::kGet, "/services", [reg, wl, max_wait](Request req, Reply reply) {
    ServeBlocking(*reg, *wl, req, std::move(reply), max_wait, RenderServices);
  });
  router.Get("/services/:id", [reg](const Request& req) { return GetService(*reg, req); });
  router.Delete("/services/:id", [reg](const Request& req) { return DeleteService(*reg, req); });
  router.Post("/bind", [reg](const Request& req) { return Bind(*reg, req); });
  router.Post("/unbind", [reg](const Request& req) { return Unbind(*reg, req); });
  router.Get("/bindings", [reg](const Request&) { return ListBindings(*reg); });
  router.Get("/bindings/:id", [reg](const Request& req) { return GetBinding(*reg, req); });
  router.Get("/endpoints", [](const Request& req) { return Endpoints(req); });
  router.Get("/forms", [](const Request& req) { return Forms(req); });
}

}  // namespace csp::discovery
