#include "csp/test_support/engine_contract.h"

#include <optional>
#include <utility>

#include "csp/core/id.h"
#include "csp/json/json.h"

namespace csp::test {
namespace {

struct Reply {
  bool sent = false;  // false: a transport error, already recorded as a problem
  int status = 0;
  std::optional<json::Value> body;  // nullopt: empty or not JSON
  std::string text;
};

// One check's conversation with the engine; problems are prefixed with the check's name.
class Probe {
 public:
  Probe(std::string check, const std::string& base_url, const EngineContractConfig& config, http_client::Client& client)
      : check_(std::move(check)), base_(base_url), config_(config), client_(client) {}

  std::string NewId() const { return config_.id_prefix + NewUuid().substr(0, 13); }
  static std::string NewRequestId() { return NewUuid(); }

  json::Value Ccm(const std::string& command, const std::string& id, const json::Value* payload,
                  const std::string& request_id) const {
    json::Value m = json::Object{{"command", command}, {"resource", config_.resource}};
    if (!id.empty()) m.Set("id", id);
    if (payload != nullptr) m.Set("payload", *payload);
    if (!request_id.empty()) m.Set("requestId", request_id);
    return m;
  }

  Reply Post(const std::string& path, const json::Value& body) {
    http_client::Request req;
    req.method = "POST";
    req.url = base_ + path;
    req.body = json::Dump(body);
    req.headers.emplace_back("Content-Type", "application/json");
    req.timeout = config_.timeout;
    Result<http_client::Response> r = client_.Send(req);
    Reply out;
    if (!r) {
      Problem("POST " + path + " failed: " + r.error().message);
      return out;
    }
    out.sent = true;
    out.status = r->status;
    out.text = r->body;
    if (!r->body.empty()) {
      if (Result<json::Value> parsed = json::Parse(r->body); parsed) out.body = std::move(*parsed);
    }
    return out;
  }

  Reply Execute(const json::Value& message) { return Post("/execute", message); }
  Reply Repeat(const json::Value& message) { return Post("/repeat", message); }
  Reply Revert(const std::string& request_id) {
    // The body job-control sends: the request id plus the original call, which must not matter.
    return Post("/revert", json::Object{{"requestId", request_id}});
  }

  // Creates a fresh record; returns its id, or "" (with a problem recorded) when that failed.
  std::string Create(const std::string& request_id = "") {
    const std::string id = NewId();
    Reply r = Execute(
        Ccm(config_.create_command, id, &config_.create_payload, request_id.empty() ? NewRequestId() : request_id));
    if (!Expect2xx(r, "create of " + id)) return "";
    return id;
  }

  // The record, or nullopt when the engine answers 404 (anything else is a problem too).
  std::optional<json::Value> Read(const std::string& id) {
    Reply r = Execute(Ccm(config_.read_command, id, nullptr, ""));
    if (!r.sent) return std::nullopt;
    if (r.status == 404) return std::nullopt;
    if (r.status != 200 || !r.body || r.body->Find("result") == nullptr) {
      Problem("read of " + id + " answered " + Describe(r) + ", expected 200 {\"result\"} or 404");
      return std::nullopt;
    }
    return *r.body->Find("result");
  }

  void Delete(const std::string& id) {
    if (id.empty()) return;
    (void)Execute(Ccm(config_.delete_command, id, nullptr, NewRequestId()));
  }

  int CountInList(const std::string& id) {
    Reply r = Execute(Ccm(config_.list_command, "", nullptr, ""));
    if (!r.sent) return -1;
    const json::Value* result = r.body ? r.body->Find("result") : nullptr;
    if (r.status != 200 || result == nullptr || !result->IsArray()) {
      Problem("list answered " + Describe(r) + ", expected 200 {\"result\": [...]}");
      return -1;
    }
    int n = 0;
    for (const json::Value& record : result->AsArray()) {
      const json::Value* rid = record.Find("id");
      if (rid != nullptr && rid->IsString() && rid->AsString() == id) ++n;
    }
    return n;
  }

  bool Expect2xx(const Reply& r, const std::string& what) {
    if (!r.sent) return false;
    if (r.status >= 200 && r.status < 300) return true;
    Problem(what + " answered " + Describe(r) + ", expected a 2xx");
    return false;
  }

  bool ExpectStatus(const Reply& r, int status, const std::string& what) {
    if (!r.sent) return false;
    if (r.status == status) return true;
    Problem(what + " answered " + Describe(r) + ", expected " + std::to_string(status));
    return false;
  }

  // A 200 {"status": outcome, ...} revert reply.
  void ExpectRevert(const Reply& r, const std::string& outcome, const std::string& what) {
    if (!ExpectStatus(r, 200, what)) return;
    const json::Value* status = r.body ? r.body->Find("status") : nullptr;
    if (status == nullptr || !status->IsString() || status->AsString() != outcome) {
      Problem(what + " answered " + Describe(r) + ", expected {\"status\":\"" + outcome + "\"}");
    }
  }

  void Problem(const std::string& what) { problems_.push_back(check_ + ": " + what); }
  std::vector<std::string> Take() { return std::move(problems_); }

  static std::string Describe(const Reply& r) {
    std::string text = r.text.size() > 300 ? r.text.substr(0, 300) + "..." : r.text;
    return std::to_string(r.status) + (text.empty() ? "" : " " + text);
  }

  const EngineContractConfig& config() const { return config_; }

 private:
  std::string check_;
  std::string base_;
  const EngineContractConfig& config_;
  http_client::Client& client_;
  std::vector<std::string> problems_;
};

void Append(std::vector<std::string>& to, std::vector<std::string> more) {
  to.insert(to.end(), std::make_move_iterator(more.begin()), std::make_move_iterator(more.end()));
}

}  // namespace

std::vector<std::string> CheckCreateRepeatRevert(const std::string& base_url, const EngineContractConfig& config,
                                                 http_client::Client& client) {
  Probe p("create/repeat/revert", base_url, config, client);
  const std::string id = p.NewId();
  const std::string rid = Probe::NewRequestId();
  const json::Value create = p.Ccm(config.create_command, id, &config.create_payload, rid);

  Reply first = p.Execute(create);
  if (!p.Expect2xx(first, "execute create")) return p.Take();
  const json::Value* result = first.body ? first.body->Find("result") : nullptr;
  const json::Value* result_id = result != nullptr ? result->Find("id") : nullptr;
  if (result_id == nullptr || !result_id->IsString() || result_id->AsString() != id) {
    p.Problem("execute create answered " + Probe::Describe(first) + ", expected {\"result\": {\"id\": \"" + id +
              "\"}}");
  }

  Reply again = p.Repeat(create);
  if (again.sent) {
    const bool same_body = again.text == first.text || (again.body && first.body && *again.body == *first.body);
    if (again.status != first.status || !same_body) {
      p.Problem("/repeat with the same requestId answered " + Probe::Describe(again) + ", expected the first reply " +
                Probe::Describe(first));
    }
  }
  if (!p.Read(id)) p.Problem("the created record " + id + " cannot be read");
  if (!config.list_command.empty()) {
    const int n = p.CountInList(id);
    if (n >= 0 && n != 1) p.Problem("list holds " + std::to_string(n) + " records with id " + id + ", expected 1");
  }

  p.ExpectRevert(p.Revert(rid), "reverted", "revert of the create");
  if (p.Read(id)) p.Problem("record " + id + " still exists after its create was reverted");
  p.ExpectRevert(p.Revert(rid), "already-reverted", "a second revert of the create");

  Reply late = p.Repeat(create);
  (void)late;  // its reply is the stored one; what matters is that nothing applies again
  if (p.Read(id)) {
    p.Problem("a /repeat of the reverted create brought record " + id + " back");
    p.Delete(id);
  }
  return p.Take();
}

std::vector<std::string> CheckUpdateRevert(const std::string& base_url, const EngineContractConfig& config,
                                           http_client::Client& client) {
  Probe p("update/revert", base_url, config, client);
  const std::string id = p.Create();
  if (id.empty()) return p.Take();
  std::optional<json::Value> before = p.Read(id);
  if (!before) {
    p.Problem("the created record " + id + " cannot be read");
    return p.Take();
  }
  const std::string rid = Probe::NewRequestId();
  Reply update = p.Execute(p.Ccm(config.update_command, id, &config.update_payload, rid));
  if (p.ExpectStatus(update, 200, "update")) {
    std::optional<json::Value> changed = p.Read(id);
    if (changed && *changed == *before) p.Problem("update_payload changed nothing in " + id + "; choose another");
    p.ExpectRevert(p.Revert(rid), "reverted", "revert of the update");
    std::optional<json::Value> after = p.Read(id);
    if (!after) {
      p.Problem("record " + id + " is gone after its update was reverted");
    } else if (*after != *before) {
      p.Problem("revert of the update left " + json::Dump(*after) + ", expected " + json::Dump(*before));
    }
  }
  p.Delete(id);
  return p.Take();
}

std::vector<std::string> CheckDeleteRevert(const std::string& base_url, const EngineContractConfig& config,
                                           http_client::Client& client) {
  Probe p("delete/revert", base_url, config, client);
  const std::string id = p.Create();
  if (id.empty()) return p.Take();
  std::optional<json::Value> before = p.Read(id);
  if (!before) {
    p.Problem("the created record " + id + " cannot be read");
    return p.Take();
  }
  const std::string rid = Probe::NewRequestId();
  Reply del = p.Execute(p.Ccm(config.delete_command, id, nullptr, rid));
  if (p.Expect2xx(del, "delete")) {
    if (p.Read(id)) p.Problem("record " + id + " still exists after delete");
    p.ExpectRevert(p.Revert(rid), "reverted", "revert of the delete");
    std::optional<json::Value> after = p.Read(id);
    if (!after) {
      p.Problem("record " + id + " is still gone after its delete was reverted");
    } else if (*after != *before) {
      p.Problem("revert of the delete restored " + json::Dump(*after) + ", expected " + json::Dump(*before));
    }
  }
  p.Delete(id);
  return p.Take();
}

std::vector<std::string> CheckRevertNoops(const std::string& base_url, const EngineContractConfig& config,
                                          http_client::Client& client) {
  Probe p("revert noops", base_url, config, client);
  p.ExpectRevert(p.Revert(Probe::NewRequestId()), "noop", "revert of an unknown requestId");

  const std::string id = p.Create();
  if (id.empty()) return p.Take();
  const std::string dup_rid = Probe::NewRequestId();
  Reply dup = p.Execute(p.Ccm(config.create_command, id, &config.create_payload, dup_rid));
  p.ExpectStatus(dup, 409, "execute create of an existing id");
  p.ExpectRevert(p.Revert(dup_rid), "noop", "revert of a failed create");
  if (!p.Read(id)) p.Problem("revert of a failed create of " + id + " removed the existing record");

  const std::string read_rid = Probe::NewRequestId();
  p.ExpectStatus(p.Execute(p.Ccm(config.read_command, id, nullptr, read_rid)), 200, "read with a requestId");
  p.ExpectRevert(p.Revert(read_rid), "noop", "revert of a read");
  if (!p.Read(id)) p.Problem("revert of a read removed record " + id);
  p.Delete(id);
  return p.Take();
}

std::vector<std::string> CheckExecuteRepeatRevertContract(const std::string& base_url,
                                                          const EngineContractConfig& config,
                                                          http_client::Client& client) {
  std::vector<std::string> problems;
  if (config.resource.empty()) problems.push_back("config: resource is empty");
  if (!config.create_payload.IsObject()) problems.push_back("config: create_payload must be an object");
  if (!config.update_payload.IsObject()) problems.push_back("config: update_payload must be an object");
  if (!problems.empty()) return problems;
  Append(problems, CheckCreateRepeatRevert(base_url, config, client));
  Append(problems, CheckUpdateRevert(base_url, config, client));
  Append(problems, CheckDeleteRevert(base_url, config, client));
  Append(problems, CheckRevertNoops(base_url, config, client));
  return problems;
}

std::vector<std::string> CheckExecuteRepeatRevertContract(const std::string& base_url,
                                                          const EngineContractConfig& config) {
  http_client::CurlClient client;
  return CheckExecuteRepeatRevertContract(base_url, config, client);
}

std::string JoinProblems(const std::vector<std::string>& problems) {
  std::string out;
  for (const std::string& p : problems) out += p + "\n";
  return out;
}

}  // namespace csp::test
