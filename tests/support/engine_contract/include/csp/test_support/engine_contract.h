#pragma once
// The execute/repeat/revert contract of spec/30-engine.md, checked over HTTP against a running
// engine (ours, or any other implementation) given its base URL. Each check returns the problems
// it found, one sentence each, so a test writes:
//
//   csp::test::EngineContractConfig config;
//   config.resource = "person";
//   config.create_payload = csp::json::Object{{"email", "contract@example.org"}};
//   config.update_payload = csp::json::Object{{"givenName", "Changed"}};
//   std::vector<std::string> problems = csp::test::CheckExecuteRepeatRevertContract(url, config);
//   CHECK_MESSAGE(problems.empty(), csp::test::JoinProblems(problems));
//
// The checks create their own records (ids "<id_prefix><random>") and delete them when done, so
// they can run against an engine that holds other data. They need the design's create, read,
// update and delete commands (names configurable) and, for the duplicate check, its list command.

#include <chrono>
#include <string>
#include <vector>

#include "csp/http_client/client.h"
#include "csp/json/value.h"

namespace csp::test {

struct EngineContractConfig {
  std::string resource;        // the design's resourceType
  json::Value create_payload;  // a payload that satisfies create's required inputs
  json::Value update_payload;  // a payload that changes at least one field of that record
  std::string create_command = "create";
  std::string read_command = "read";
  std::string update_command = "update";
  std::string delete_command = "delete";
  std::string list_command = "list";  // empty: skip the "no duplicate in list" check
  std::string id_prefix = "contract-";
  std::chrono::milliseconds timeout{10'000};  // per HTTP call
};

// All of the checks below, in order.
std::vector<std::string> CheckExecuteRepeatRevertContract(const std::string& base_url,
                                                          const EngineContractConfig& config);
std::vector<std::string> CheckExecuteRepeatRevertContract(const std::string& base_url,
                                                          const EngineContractConfig& config,
                                                          http_client::Client& client);

// execute create -> /repeat with the same requestId gives the same status and body and no second
// record -> revert deletes it -> a second revert is "already-reverted" -> a later /repeat of the
// same requestId does not bring the record back.
std::vector<std::string> CheckCreateRepeatRevert(const std::string& base_url, const EngineContractConfig& config,
                                                 http_client::Client& client);
// update -> revert restores the record as it was.
std::vector<std::string> CheckUpdateRevert(const std::string& base_url, const EngineContractConfig& config,
                                           http_client::Client& client);
// delete -> revert restores the record as it was.
std::vector<std::string> CheckDeleteRevert(const std::string& base_url, const EngineContractConfig& config,
                                           http_client::Client& client);
// revert of an unknown requestId, of a failed request (a duplicate create) and of a read: all
// 200 "noop", and nothing changes.
std::vector<std::string> CheckRevertNoops(const std::string& base_url, const EngineContractConfig& config,
                                          http_client::Client& client);

// The problems one per line, for a CHECK_MESSAGE.
std::string JoinProblems(const std::vector<std::string>& problems);

}  // namespace csp::test
