// job-runner: wiring only. Parses the command line, reads the config and environment, builds the
// HTTP client, and hands over to the command table.

#include <signal.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <climits>
#include <cstdlib>
#include <cstring>
#include <iostream>

#include "commands.h"
#include "csp/http_client/client.h"
#include "exit_codes.h"
#include "options.h"

namespace {

using csp::job_runner::Env;

// Ctrl-C presses, counted by the signal handler (the one global: a signal handler needs it).
volatile sig_atomic_t g_interrupts = 0;

void OnInterrupt(int) { g_interrupts = g_interrupts + 1; }

// run and watch turn Ctrl-C into "cancel the job" (and a second one into "stop following").
void CatchInterrupts() {
  struct sigaction action {};
  action.sa_handler = OnInterrupt;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;
  sigaction(SIGINT, &action, nullptr);
}

std::optional<std::string> GetEnv(const std::string& name) {
  const char* v = std::getenv(name.c_str());
  if (v == nullptr) return std::nullopt;
  return std::string(v);
}

bool IsFile(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

std::string CurrentDir() {
  char buf[PATH_MAX];
  return ::getcwd(buf, sizeof buf) != nullptr ? std::string(buf) : ".";
}

csp::job_runner::Terminal DetectTerminal() {
  csp::job_runner::Terminal t;
  t.out_tty = ::isatty(STDOUT_FILENO) == 1;
  t.err_tty = ::isatty(STDERR_FILENO) == 1;
  struct winsize ws {};
  if (::ioctl(t.out_tty ? STDOUT_FILENO : STDERR_FILENO, TIOCGWINSZ, &ws) == 0) {
    t.width = ws.ws_col;
    t.height = ws.ws_row;
  }
  const auto term = GetEnv("TERM");
  t.color = !GetEnv("NO_COLOR") && !(term && *term == "dumb");
  return t;
}

int Usage(const std::string& message) {
  std::cerr << "job-runner: " << message << "\n";
  return csp::job_runner::kExitUsage;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace csp::job_runner;
  csp::http_client::CurlClient::GlobalInit();

  auto cl = ParseCommandLine(std::vector<std::string>(argv + 1, argv + argc));
  if (!cl) return Usage(cl.error().message + " (see job-runner help)");
  if (cl->Has("version")) {
    std::cout << "job-runner " << CSP_VERSION << "\n";
    return kExitOk;
  }
  if (cl->positionals.empty() && !cl->Has("help")) {
    std::cerr << UsageText();
    return kExitUsage;
  }
  auto choice = ChooseCommand(cl->positionals, IsFile);
  if (!choice) return Usage(choice.error().message);
  if (cl->Has("help")) {
    if (choice->command == "help" || (cl->positionals.size() == 1 && choice->command == "run" &&
                                       FindCommand(cl->positionals[0]) == nullptr)) {
      std::cout << UsageText();
    } else {
      std::cout << CommandHelp(*FindCommand(choice->command));
    }
    return kExitOk;
  }

  const std::string explicit_config = cl->Value("config").value_or(GetEnv("JOB_RUNNER_CONFIG").value_or(""));
  auto config = LoadConfigFiles(CurrentDir(), explicit_config, GetEnv);
  if (!config) return Usage(config.error().message);
  auto options = ResolveOptions(*cl, choice->command, choice->args, GetEnv, *config);
  if (!options) return Usage(options.error().message);
  if (!options->token_file.empty()) {
    auto token = ReadTokenFile(options->token_file);
    if (!token) return Usage(token.error().message);
    options->token = *token;
  }

  csp::http_client::CurlOptions curl_options;
  curl_options.bearer_token = options->token;
  curl_options.user_agent = std::string("job-runner/") + CSP_VERSION;
  csp::http_client::CurlClient http(curl_options);

  if (options->command == "run" || options->command == "watch") CatchInterrupts();
  Env env{std::move(*options), std::cout, std::cerr, std::cin, http, DetectTerminal(),
          [] { return static_cast<int>(g_interrupts); }};
  const int code = FindCommand(env.options.command)->handler(env);
  std::cout.flush();
  return code;
}
