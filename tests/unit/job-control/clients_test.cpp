// The typed clients job-control and job-runner use: StateClient and JobsClient, over the fake.
#include <doctest/doctest.h>

#include "csp/clients/jobs.h"
#include "csp/clients/state.h"
#include "csp/json/json.h"
#include "fakes.h"

namespace csp::clients {
namespace {

using job_control::testing::FakeHttp;
using job_control::testing::JsonReply;

std::string HeaderOf(const http_client::Request& r, const std::string& name) {
  for (auto& [k, v] : r.headers) {
    if (k == name) return v;
  }
  return "";
}

TEST_SUITE("clients") {
  TEST_CASE("StateClient: create, get with ETag, patch with If-Match, errors by status") {
    FakeHttp http;
    http.Route("POST", "http://s/state", [](const http_client::Request& r) -> Result<http_client::Response> {
      auto body = json::Parse(r.body);
      if (body->Find("id")->AsString() == "taken") return JsonReply(409, json::Object{{"error", "State ID 'taken' already exists."}});
      return JsonReply(201, json::Object{{"stateURL", "http://s/state/" + body->Find("id")->AsString()}});
    });
    http.Route("GET", "http://s/state/a", [](const http_client::Request&) -> Result<http_client::Response> {
      auto r = JsonReply(200, json::Object{{"x", 1}});
      r.headers.emplace_back("ETag", "\"3\"");
      return r;
    });
    int patches = 0;
    http.Route("PATCH", "http://s/state/a", [&](const http_client::Request& r) -> Result<http_client::Response> {
      ++patches;
      if (HeaderOf(r, "If-Match") == "\"2\"") return JsonReply(412, json::Object{{"error", "stale"}});
      auto rep = JsonReply(200, json::Object{{"status", "patched"}});
      rep.headers.emplace_back("ETag", "\"4\"");
      return rep;
    });
    StateClient state(http);
    state.set_request_id("job-1");
    auto created = state.Create("http://s", "doc", json::Object{{"id", "ignored"}, {"k", "v"}});
    REQUIRE(created.ok());
    CHECK(*created == "http://s/state/doc");
    auto sent = *json::Parse(http.CallsTo("POST", "http://s/state")[0].body);
    CHECK(json::Dump(sent) == R"({"id":"doc","k":"v"})");
    CHECK(http.CallsTo("POST", "http://s/state")[0].request_id == "job-1");
    CHECK(state.Create("http://s", "taken", json::Object{}).error().code == ErrorCode::kAlreadyExists);

    auto doc = state.Get("http://s/state/a");
    REQUIRE(doc.ok());
    CHECK(doc->etag == "\"3\"");
    CHECK(state.Get("http://s/state/missing").error().code == ErrorCode::kUnavailable);  // no route: transport

    json::Value patch = json::Array{json::Object{{"op", "add"}, {"path", "/y"}, {"value", 2}}};
    auto etag = state.ApplyPatch("http://s/state/a", patch, "\"3\"");
    REQUIRE(etag.ok());
    CHECK(*etag == "\"4\"");
    auto req = http.CallsTo("PATCH", "http://s/state/a")[0];
    CHECK(req.body == json::Dump(patch));
    CHECK(HeaderOf(req, "If-Match") == "\"3\"");
    auto stale = state.ApplyPatch("http://s/state/a", patch, "\"2\"");
    REQUIRE_FALSE(stale.ok());
    CHECK(stale.error().code == ErrorCode::kFailedPrecondition);
    CHECK(stale.error().message == "PATCH http://s/state/a: 412 stale");
    CHECK(state.Merge("http://s/state/a", json::Object{{"m", 1}}).ok());
    CHECK(json::Dump(*json::Parse(http.CallsTo("PATCH", "http://s/state/a").back().body)) ==
          R"({"op":"merge","value":{"m":1}})");
  }

  TEST_CASE("JobsClient: submit, idempotency key, problems, overload, events with a wait") {
    FakeHttp http;
    int submits = 0;
    http.Route("POST", "http://jc/jobs", [&](const http_client::Request& r) -> Result<http_client::Response> {
      ++submits;
      if (r.body == "{}") {
        return JsonReply(400, json::Object{{"error", "invalid job document: steps: is required"},
                                           {"code", "invalid_argument"},
                                           {"problems", json::Array{"steps: is required"}}});
      }
      if (submits > 3) return JsonReply(503, json::Object{{"error", "full"}, {"code", "overloaded"}});
      bool again = HeaderOf(r, "Idempotency-Key") == "k" && submits > 1;
      return JsonReply(again ? 200 : 202, json::Object{{"jobId", "j1"}, {"status", "queued"}, {"href", "http://jc/jobs/j1"}});
    });
    http.Route("GET", "http://jc/jobs/j1/events", [](const http_client::Request&) -> Result<http_client::Response> {
      return JsonReply(200, json::Array{json::Object{{"seq", 3}, {"type", "job_ended"}}});
    });
    http.Route("GET", "http://jc/jobs/nope", [](const http_client::Request&) -> Result<http_client::Response> {
      return JsonReply(404, json::Object{{"error", "Job not found"}, {"code", "not_found"}});
    });
    JobsClient jobs("http://jc/", http);
    auto first = jobs.Submit(json::Object{{"steps", json::Array{}}}, "k");
    REQUIRE(first.ok());
    CHECK(first->http_status == 202);
    CHECK(first->job_id == "j1");
    auto again = jobs.Submit(json::Object{{"steps", json::Array{}}}, "k");
    CHECK(again->http_status == 200);
    auto bad = jobs.Submit(json::Object{});
    REQUIRE_FALSE(bad.ok());
    CHECK(bad.error().code == ErrorCode::kInvalidArgument);
    CHECK(bad.error().message.find("\n  steps: is required") != std::string::npos);
    auto full = jobs.Submit(json::Object{{"steps", json::Array{}}});
    CHECK(full.error().code == ErrorCode::kOverloaded);
    auto events = jobs.Events("j1", 2, std::chrono::milliseconds(1500));
    REQUIRE(events.ok());
    CHECK(events->size() == 1);
    auto call = http.CallsTo("GET", "http://jc/jobs/j1/events")[0];
    CHECK(call.url == "http://jc/jobs/j1/events?after=2&wait=1500ms");
    CHECK(call.timeout > std::chrono::milliseconds(1500));
    CHECK(jobs.Get("nope").error().code == ErrorCode::kNotFound);
  }
}

}  // namespace
}  // namespace csp::clients
