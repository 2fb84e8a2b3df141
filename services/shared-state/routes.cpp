#include "shared-state/routes.h"

#include <algorithm>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "csp/core/time.h"
#include "csp/json/getters.h"
#include "csp/json/json.h"
#include "csp/json/pointer.h"

#ifndef CSP_VERSION
#define CSP_VERSION "0.0.0"
#endif

namespace csp::shared_state {

namespace {

using http::Reply;
using http::Request;
using http::Response;

constexpr std::string_view kJsonPatch = "application/json-patch+json";
constexpr std::string_view kMergePatch = "application/merge-patch+json";

Response Fail(const Error& e) { return Response::FromError(e); }

Response WithETag(Response r, int64_t version) { return std::move(r.WithHeader("ETag", ETagFor(version))); }

// The raw JSON text of a document as a reply body (no parse, no dump: the cache holds the text).
Response JsonText(int status, std::string text) {
  Response r;
  r.status = status;
  r.body = std::move(text);
  return r;
}

Result<std::optional<EntityTags>> ReadTags(const Request& req, std::string_view name) {
  auto header = req.Header(name);
  if (!header) return std::optional<EntityTags>();
  Result<EntityTags> tags = ParseEntityTags(*header, name);
  if (!tags) return tags.error();
  return std::optional<EntityTags>(std::move(*tags));
}

Result<Preconditions> ReadPreconditions(const Request& req) {
  Preconditions pre;
  auto if_match = ReadTags(req, "If-Match");
  if (!if_match) return if_match.error();
  auto if_none_match = ReadTags(req, "If-None-Match");
  if (!if_none_match) return if_none_match.error();
  pre.if_match = std::move(*if_match);
  pre.if_none_match = std::move(*if_none_match);
  return pre;
}

// The document a write names (its id checked) and the request's conditions on it.
struct Target {
  std::string id;
  Preconditions pre;
};

Result<Target> ReadTarget(const Request& req) {
  std::string id = req.Param("id");
  if (Status s = ValidateId(id); !s) return s.error();
  Result<Preconditions> pre = ReadPreconditions(req);
  if (!pre) return pre.error();
  return Target{std::move(id), std::move(*pre)};
}

// 304 when the request's If-None-Match names the version the reply would carry.
Result<bool> NotModified(const Request& req, int64_t version) {
  auto tags = ReadTags(req, "If-None-Match");
  if (!tags) return tags.error();
  return *tags && Matches(**tags, version);
}

Response NotModifiedReply(int64_t version) { return WithETag(Response::Empty(304), version); }

// POST /state and POST /state/:id accept a missing body as {} (as the original does).
Result<json::Value> ObjectBody(const Request& req) {
  if (req.body.find_first_not_of(" \t\r\n") == std::string::npos) return json::Value::MakeObject();
  Result<json::Value> body = req.JsonBody();
  if (!body) return body.error();
  if (!body->IsObject()) {
    return InvalidArgument("body: expected a JSON object, not " + std::string(json::TypeName(body->type())));
  }
  return body;
}

// Optional non-negative integer query parameter.
Result<std::optional<int64_t>> QueryVersion(const Request& req) {
  auto text = req.Query("version");
  if (!text) return std::optional<int64_t>();
  if (text->empty() || text->size() > 18 || text->find_first_not_of("0123456789") != std::string::npos) {
    return InvalidArgument("version: expected a non-negative integer, got '" + text->substr(0, 32) + "'");
  }
  return std::optional<int64_t>(std::stoll(*text));
}

std::string StateUrl(const Request& req, const std::string& id) { return req.BaseUrl() + "/state/" + id; }

json::Value Form(std::string rel, std::string method, std::string href, std::string input, std::string output) {
  return json::Object{{"rel", std::move(rel)},
                      {"method", std::move(method)},
                      {"href", std::move(href)},
                      {"input", std::move(input)},
                      {"output", std::move(output)}};
}

class Api : public std::enable_shared_from_this<Api> {
 public:
  Api(DocumentStore& store, WatchHub& hub, const Clock& clock, http::Counter& writes)
      : store_(store), hub_(hub), clock_(clock), writes_(writes) {}

  Response Root(const Request&) const {
    return Response::Json(200, json::Object{{"name", "shared-state"}, {"version", CSP_VERSION}});
  }

  Response Forms(const Request& req) const {
    std::string base = req.BaseUrl();
    std::string item = base + "/state/:id";
    json::Array forms{
        // The original's five, in its order.
        Form("create-state", "POST", base + "/state", "{ id?: string, key: value, ... } (optional)",
             "{ stateURL: string, id: string, version: number }"),
        Form("read-state", "GET", item, "path param: id", "{ key: value, ... }"),
        Form("update-state", "POST", item, "{ key: value, ... }", "{ status: string, state: object }"),
        Form("patch-state", "PATCH", item, "{ op: \"add\" | \"merge\", path?: string, value: any }",
             "{ status: \"patched\" | \"merged\", state: object }"),
        Form("delete-state", "DELETE", item, "path param: id", "204 No Content"),
        // Ours.
        Form("list-state", "GET", base + "/state", "none", "[{ id, createdAt, lastModified, version, rel, href }]"),
        Form("replace-state", "PUT", item, "{ key: value, ... }",
             "{ status: \"created\" | \"replaced\", state: object }"),
        Form("json-patch-state", "PATCH", item, "application/json-patch+json: [{ op, path, value?, from? }]",
             "{ status: \"patched\", state: object }"),
        Form("merge-patch-state", "PATCH", item, "application/merge-patch+json: { key: value | null, ... }",
             "{ status: \"merged\", state: object }"),
        Form("read-state-value", "GET", item + "/{pointer}", "path: JSON Pointer segments", "any JSON value"),
        Form("delete-state-value", "DELETE", item + "/{pointer}", "path: JSON Pointer segments",
             "{ status: \"removed\", state: object }"),
        Form("state-history", "GET", item + "/history", "path param: id", "[{ version, lastModified, sizeBytes }]"),
        Form("restore-state", "POST", item + "/restore", "{ version: number }",
             "{ status: \"restored\", restoredFrom: number, state: object }"),
        Form("watch-state", "GET", item + "?wait=30s&version=N", "query: wait, version", "{ key: value, ... } or 304"),
    };
    return Response::Json(200, json::Value(std::move(forms)));
  }

  // POST /state
  Response Create(const Request& req) {
    Result<Preconditions> pre = ReadPreconditions(req);
    if (!pre) return Fail(pre.error());
    Result<json::Value> body = ObjectBody(req);
    if (!body) return Fail(body.error());
    std::string id;
    json::Object& members = body->AsObject();
    if (const json::Value* given = members.Find("id")) {
      // The original takes any truthy id; we take a string, and treat "" and null as "none".
      if (!given->IsNull() && !given->IsString()) {
        return Fail(InvalidArgument("id: expected a string, not " + std::string(json::TypeName(given->type()))));
      }
      if (given->IsString()) id = given->AsString();
      members.Erase("id");
    }
    if (!id.empty()) {
      if (Status s = ValidateId(id); !s) return Fail(s.error());
    }
    Result<WriteResult> r = store_.Create(id, std::move(*body), *pre);
    if (!r) return Fail(r.error());
    Count("create");
    const Document& doc = *r->document;
    std::string url = StateUrl(req, doc.id);
    Response out = Response::Json(201, json::Object{{"stateURL", url}, {"id", doc.id}, {"version", doc.version}});
    out.WithHeader("Location", url);
    return WithETag(std::move(out), doc.version);
  }

  // GET /state
  Response List(const Request& req) {
    Result<std::vector<DocumentMeta>> docs = store_.List();
    if (!docs) return Fail(docs.error());
    json::Array items;
    items.reserve(docs->size());
    for (const DocumentMeta& m : *docs) {
      items.push_back(json::Object{{"id", m.id},
                                   {"createdAt", m.created_at},
                                   {"lastModified", m.last_modified},
                                   {"version", m.version},
                                   {"rel", "item"},
                                   {"href", StateUrl(req, m.id)}});
    }
    return Response::Json(200, json::Value(std::move(items)));
  }

  // GET /state/:id (async because of ?wait)
  void Read(Request req, const Reply& reply) {
    const std::string id = req.Param("id");
    if (Status s = ValidateId(id); !s) return reply(Fail(s.error()));
    Result<std::optional<int64_t>> version = QueryVersion(req);
    if (!version) return reply(Fail(version.error()));
    if (auto wait = req.Query("wait")) return Watch(std::move(req), reply, id, *wait, *version);
    if (*version) return reply(ReadVersion(req, id, **version));
    reply(Current(req, id));
  }

  // GET /state/:id/history
  Response History(const Request& req) {
    Result<std::vector<Revision>> revisions = store_.History(req.Param("id"));
    if (!revisions) return Fail(revisions.error());
    json::Array items;
    for (const Revision& r : *revisions) {
      items.push_back(json::Object{{"version", r.version},
                                   {"lastModified", r.last_modified},
                                   {"sizeBytes", static_cast<int64_t>(r.size_bytes)}});
    }
    return Response::Json(200, json::Value(std::move(items)));
  }

  // POST /state/:id/restore {"version": N}
  Response Restore(const Request& req) {
    Result<Target> target = ReadTarget(req);
    if (!target) return Fail(target.error());
    const auto& [id, pre] = *target;
    Result<json::Value> body = req.JsonBody();
    if (!body) return Fail(body.error());
    if (auto obj = json::ExpectObject(*body, "body"); !obj) return Fail(obj.error());
    Result<int64_t> version = json::GetInt(*body, "version");
    if (!version) return Fail(version.error());
    if (*version < 1) return Fail(InvalidArgument("version: expected a positive integer"));
    Result<WriteResult> r = store_.Restore(id, *version, pre);
    if (!r) return Fail(r.error());
    Count("restore");
    json::Value state = RecordJson(*r->document, std::move(r->content));
    return WithETag(
        Response::Json(200,
                       json::Object{{"status", "restored"}, {"restoredFrom", *version}, {"state", std::move(state)}}),
        r->document->version);
  }

  // POST /state/:id: upsert, then shallow merge.
  Response Update(const Request& req) {
    Result<Target> target = ReadTarget(req);
    if (!target) return Fail(target.error());
    const auto& [id, pre] = *target;
    Result<json::Value> body = ObjectBody(req);
    if (!body) return Fail(body.error());
    return Written("updated", "merge", 200, store_.Merge(id, body->AsObject(), pre));
  }

  // PUT /state/:id: replace (201 when it created the document).
  Response Replace(const Request& req) {
    Result<Target> target = ReadTarget(req);
    if (!target) return Fail(target.error());
    const auto& [id, pre] = *target;
    Result<json::Value> body = req.JsonBody();
    if (!body) return Fail(body.error());
    Result<WriteResult> r = store_.Put(id, std::move(*body), pre);
    if (!r) return Fail(r.error());
    bool created = r->created;
    Response out = Written(created ? "created" : "replaced", "put", created ? 201 : 200, std::move(r));
    if (created) out.WithHeader("Location", StateUrl(req, id));
    return out;
  }

  // PATCH /state/:id: {op, path, value}, an RFC 6902 array, or an RFC 7396 merge patch.
  Response Patch(const Request& req) {
    Result<Target> target = ReadTarget(req);
    if (!target) return Fail(target.error());
    const auto& [id, pre] = *target;
    Result<json::Value> body = req.JsonBody();
    if (!body) return Fail(body.error());
    std::string media = req.MediaType();
    if (media == kMergePatch) return Written("merged", "merge_patch", 200, store_.MergePatch(id, *body, pre));
    if (media == kJsonPatch || body->IsArray()) {
      if (!body->IsArray()) {
        return Fail(InvalidArgument("body: a JSON Patch (application/json-patch+json) must be an array of operations"));
      }
      return Written("patched", "patch", 200, store_.Patch(id, *body, pre));
    }
    if (!body->IsObject()) {
      return Fail(InvalidArgument("body: expected {\"op\", \"path\", \"value\"} or an RFC 6902 array, not " +
                                  std::string(json::TypeName(body->type()))));
    }
    return PatchOp(id, *body, pre);
  }

  // DELETE /state/:id: 204 whether or not it existed.
  Response Delete(const Request& req) {
    Result<Target> target = ReadTarget(req);
    if (!target) return Fail(target.error());
    const auto& [id, pre] = *target;
    Result<bool> existed = store_.Delete(id, pre);
    if (!existed) return Fail(existed.error());
    if (*existed) Count("delete");
    return Response::Empty(204);
  }

  // GET /state/:id/<pointer...>
  Response ReadValue(const Request& req) {
    const std::string id = req.Param("id");
    if (Status s = ValidateId(id); !s) return Fail(s.error());
    Result<json::Pointer> ptr = PointerFromPath(req.path);
    if (!ptr) return Fail(ptr.error());
    Result<DocumentPtr> doc = store_.Get(id);
    if (!doc) return Fail(doc.error());
    return ValueReply(req, **doc, *ptr);
  }

  // DELETE /state/:id/<pointer...>
  Response RemoveValue(const Request& req) {
    Result<Target> target = ReadTarget(req);
    if (!target) return Fail(target.error());
    const auto& [id, pre] = *target;
    Result<json::Pointer> ptr = PointerFromPath(req.path);
    if (!ptr) return Fail(ptr.error());
    return Written("removed", "remove", 200, store_.RemoveAt(id, *ptr, pre));
  }

 private:
  void Count(const char* op) { writes_.Inc({{"op", op}}); }

  // {"status": <status>, "state": <record>} with the new ETag.
  Response Written(const char* status, const char* op, int code, Result<WriteResult> r) {
    if (!r) return Fail(r.error());
    Count(op);
    int64_t version = r->document->version;
    json::Value state = RecordJson(*r->document, std::move(r->content));
    return WithETag(Response::Json(code, json::Object{{"status", status}, {"state", std::move(state)}}), version);
  }

  Response PatchOp(const std::string& id, const json::Value& body, const Preconditions& pre) {
    const json::Value* op = body.Find("op");
    std::string name = op && op->IsString() ? op->AsString() : "";
    if (name == "merge") {
      const json::Value* value = body.Find("value");
      if (value == nullptr || !value->IsObject()) {
        return Fail(InvalidArgument("Invalid merge value: value must be a JSON object"));
      }
      return Written("merged", "merge", 200, store_.Merge(id, value->AsObject(), pre));
    }
    if (name == "add") {
      const json::Value* path = body.Find("path");
      if (path == nullptr || !path->IsString()) {
        return Fail(InvalidArgument("Invalid or missing path: path must be a JSON Pointer string such as \"/a/b\""));
      }
      Result<json::Pointer> ptr = json::Pointer::Parse(path->AsString());
      if (!ptr) return Fail(ptr.error().WithPrefix("path"));
      const json::Value* value = body.Find("value");
      if (value == nullptr) return Fail(InvalidArgument("value: required for op \"add\""));
      return Written("patched", "add", 200, store_.Add(id, *ptr, *value, pre));
    }
    std::string got =
        op == nullptr ? "no op" : (op->IsString() ? "op \"" + name.substr(0, 32) + "\"" : "a non-string op");
    return Fail(InvalidArgument("Only \"add\" and \"merge\" operations are supported (got " + got +
                                "); for add/remove/replace/move/copy/test send an RFC 6902 array as "
                                "application/json-patch+json"));
  }

  // The document as GET /state/:id answers it now: ?pointer=, ?meta, or the content.
  Response Current(const Request& req, const std::string& id) {
    Result<DocumentPtr> doc = store_.Get(id);
    if (!doc) return Fail(doc.error());
    const Document& d = **doc;
    if (auto pointer = req.Query("pointer")) {
      Result<json::Pointer> ptr = json::Pointer::Parse(*pointer);
      if (!ptr) return Fail(ptr.error().WithPrefix("pointer"));
      return ValueReply(req, d, *ptr);
    }
    Result<bool> not_modified = NotModified(req, d.version);
    if (!not_modified) return Fail(not_modified.error());
    if (*not_modified) return NotModifiedReply(d.version);
    if (req.HasQuery("meta")) {
      return WithETag(Response::Json(200, json::Object{{"id", d.id},
                                                       {"createdAt", d.created_at},
                                                       {"lastModified", d.last_modified},
                                                       {"version", d.version},
                                                       {"sizeBytes", static_cast<int64_t>(d.content.size())}}),
                      d.version);
    }
    return WithETag(JsonText(200, d.content), d.version);
  }

  Response ValueReply(const Request& req, const Document& doc, const json::Pointer& ptr) {
    Result<bool> not_modified = NotModified(req, doc.version);
    if (!not_modified) return Fail(not_modified.error());
    if (*not_modified) return NotModifiedReply(doc.version);
    Result<json::Value> content = json::Parse(doc.content, {1024});
    if (!content) return Fail(Internal("stored state is not valid JSON: " + content.error().message));
    Result<const json::Value*> value = json::Get(*content, ptr);
    if (!value) return Fail(value.error().WithPrefix("state '" + doc.id + "'"));
    return WithETag(Response::Json(200, **value), doc.version);
  }

  // GET /state/:id?version=N without wait: the content as of version N.
  Response ReadVersion(const Request& req, const std::string& id, int64_t version) {
    Result<bool> not_modified = NotModified(req, version);
    if (!not_modified) return Fail(not_modified.error());
    Result<std::string> content = store_.ContentAt(id, version);
    if (!content) return Fail(content.error());
    if (*not_modified) return NotModifiedReply(version);
    return WithETag(JsonText(200, std::move(*content)), version);
  }

  // GET /state/:id?wait=D[&version=N]: park until the version passes N (default: the current
  // one), the document is created (if it did not exist) or deleted; then answer as GET would.
  void Watch(Request req, const Reply& reply, const std::string& id, const std::string& wait_text,
             std::optional<int64_t> version) {
    Result<std::chrono::milliseconds> wait = ParseDuration(wait_text);
    if (!wait) return reply(Fail(wait.error().WithPrefix("wait")));
    auto wait_for = std::min<std::chrono::milliseconds>(*wait, kMaxWait);
    Result<int64_t> current = store_.VersionOf(id);
    if (!current) return reply(Fail(current.error()));
    WatchCondition condition{version.value_or(*current), *current == 0};
    if (*current > 0 && *current > condition.after_version) return reply(Current(req, id));

    auto shared_req = std::make_shared<const Request>(std::move(req));
    // The callback keeps the Api alive: a watch may end on the hub's thread after routing is done.
    auto self = shared_from_this();
    WatchHub::Token token =
        hub_.Add(id, condition, clock_.Steady() + wait_for, [self, shared_req, reply, id](WatchOutcome outcome) {
          reply(outcome == WatchOutcome::kChanged ? self->Current(*shared_req, id) : self->Unchanged(id));
        });
    // A write between the first read and Add() sent its notification to nobody; look again.
    Result<int64_t> now = store_.VersionOf(id);
    bool changed = !now || condition.SatisfiedBy(*now);
    if (token != 0 && changed && hub_.Take(token)) reply(Current(*shared_req, id));
  }

  // The end of a wait with no change: 304, with the current ETag when the document exists.
  Response Unchanged(const std::string& id) {
    Result<int64_t> version = store_.VersionOf(id);
    if (version && *version > 0) return NotModifiedReply(*version);
    return Response::Empty(304);
  }

  DocumentStore& store_;
  WatchHub& hub_;
  const Clock& clock_;
  http::Counter& writes_;
};

}  // namespace

Result<json::Pointer> PointerFromPath(std::string_view path) {
  // Skip the first two non-empty segments: "state" and the id.
  size_t pos = 0;
  for (int skipped = 0; skipped < 2; ++skipped) {
    while (pos < path.size() && path[pos] == '/') ++pos;
    size_t end = path.find('/', pos);
    pos = end == std::string_view::npos ? path.size() : end;
  }
  std::string_view rest = path.substr(pos);
  if (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
  std::string text;
  size_t start = 0;
  while (start < rest.size()) {
    size_t next = rest.find('/', start + 1);
    std::string_view segment =
        rest.substr(start + 1, next == std::string_view::npos ? std::string_view::npos : next - start - 1);
    // A '/' that was percent-encoded belongs to the key: re-escape it before parsing the pointer.
    text.push_back('/');
    for (char c : http::PercentDecode(segment)) {
      if (c == '/') {
        text += "~1";
      } else {
        text.push_back(c);
      }
    }
    if (next == std::string_view::npos) break;
    start = next;
  }
  Result<json::Pointer> ptr = json::Pointer::Parse(text);
  if (!ptr) return ptr.error().WithPrefix("path");
  return ptr;
}

void AddRoutes(http::Router& router, DocumentStore& store, WatchHub& hub, const Clock& clock,
               http::MetricsRegistry& metrics) {
  http::Counter& writes = metrics.AddCounter("shared_state_writes_total", "Committed writes by operation");
  metrics.AddGaugeFunction("shared_state_documents", "Documents in the store", [&store] {
    return std::vector<std::pair<http::Labels, double>>{{{}, static_cast<double>(store.Count())}};
  });
  metrics.AddGaugeFunction("shared_state_watchers", "Parked watches (long polls)", [&hub] {
    return std::vector<std::pair<http::Labels, double>>{{{}, static_cast<double>(hub.size())}};
  });

  auto api = std::make_shared<Api>(store, hub, clock, writes);
  auto sync = [api](Response (Api::*fn)(const Request&)) {
    return [api, fn](const Request& req) { return ((*api).*fn)(req); };
  };
  router.Get("/", [api](const Request& req) { return api->Root(req); });
  router.Get("/forms", [api](const Request& req) { return api->Forms(req); });
  router.Post("/state", sync(&Api::Create));
  router.Get("/state", sync(&Api::List));
  // Before the "/state/:id/*" routes: routes are tried in the order added.
  router.Get("/state/:id/history", sync(&Api::History));
  router.Post("/state/:id/restore", sync(&Api::Restore));
  router.AddAsync(http::Method::kGet, "/state/:id",
                  [api](Request req, Reply reply) { api->Read(std::move(req), reply); });
  router.Post("/state/:id", sync(&Api::Update));
  router.Put("/state/:id", sync(&Api::Replace));
  router.Patch("/state/:id", sync(&Api::Patch));
  router.Delete("/state/:id", sync(&Api::Delete));
  router.Get("/state/:id/*", sync(&Api::ReadValue));
  router.Delete("/state/:id/*", sync(&Api::RemoveValue));
}

}  // namespace csp::shared_state
