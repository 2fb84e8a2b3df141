#include <doctest/doctest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "csp/json/json.h"
#include "initial_state.h"
#include "options.h"

namespace csp::job_runner {
namespace {

json::Value J(const std::string& text) {
  auto v = json::Parse(text);
  REQUIRE_MESSAGE(v.ok(), text);
  return *v;
}

// A file under a fresh directory, removed at the end of the test.
class TempFile {
 public:
  TempFile(const std::string& text, mode_t mode) {
    char dir[] = "/tmp/job_runner_test_XXXXXX";
    REQUIRE(::mkdtemp(dir) != nullptr);
    dir_ = dir;
    path_ = dir_ + "/file";
    std::ofstream(path_) << text;
    REQUIRE(::chmod(path_.c_str(), mode) == 0);
  }
  ~TempFile() {
    ::unlink(path_.c_str());
    ::rmdir(dir_.c_str());
  }
  const std::string& path() const { return path_; }

 private:
  std::string dir_;
  std::string path_;
};

}  // namespace

TEST_SUITE("job-runner initial state") {
  TEST_CASE("state file then initialState then --set and the id is not content") {
    Options o;
    o.state_file = "-";
    o.sets = {"basket.quantity=3", "note=hi"};
    std::istringstream in(R"({"id": "doc-1", "basket": {"item": "lamp", "quantity": 1}, "keep": true})");
    auto s = AssembleInitialState(o, J(R"({"steps": [], "initialState": {"keep": false, "extra": 1}})"), in);
    REQUIRE(s.ok());
    CHECK(s->present);
    CHECK(s->id == "doc-1");
    CHECK(s->content == J(R"({"basket": {"item": "lamp", "quantity": 3}, "keep": false, "extra": 1, "note": "hi"})"));
    CHECK(s->origin == "--state - + initialState + --set");
  }

  TEST_CASE("no source means no document but an empty initialState still makes one") {
    Options o;
    std::istringstream in;
    auto none = AssembleInitialState(o, J(R"({"steps": []})"), in);
    REQUIRE(none.ok());
    CHECK_FALSE(none->present);
    auto empty = AssembleInitialState(o, J(R"({"steps": [], "initialState": {}})"), in);
    REQUIRE(empty.ok());
    CHECK(empty->present);
    CHECK(empty->id.size() == 36);  // a new UUID
    CHECK(empty->content == json::Value::MakeObject());
  }

  TEST_CASE("bad inputs are errors") {
    Options o;
    std::istringstream in;
    CHECK_FALSE(AssembleInitialState(o, J(R"({"initialState": [1]})"), in).ok());
    o.sets = {"noequals"};
    CHECK_FALSE(AssembleInitialState(o, J(R"({})"), in).ok());
    o.sets.clear();
    o.state_file = "-";
    std::istringstream bad_id(R"({"id": "has space"})");
    auto s = AssembleInitialState(o, J(R"({})"), bad_id);
    REQUIRE_FALSE(s.ok());
    CHECK(s.error().message.find("is not valid") != std::string::npos);
    o.state_file = "/nonexistent/state.json";
    CHECK_FALSE(AssembleInitialState(o, J(R"({})"), in).ok());
  }
}

TEST_SUITE("job-runner token file") {
  TEST_CASE("a token file readable by others is refused") {
    TempFile open_file("secret\n", 0644);
    auto refused = ReadTokenFile(open_file.path());
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.error().code == ErrorCode::kPermissionDenied);
    CHECK(refused.error().message.find("chmod 600") != std::string::npos);
    CHECK(refused.error().message.find("secret") == std::string::npos);  // never echo the token

    TempFile private_file("  secret\n", 0600);
    auto token = ReadTokenFile(private_file.path());
    REQUIRE(token.ok());
    CHECK(*token == "secret");
    CHECK_FALSE(ReadTokenFile("/nonexistent/token").ok());
  }
}

}  // namespace csp::job_runner
