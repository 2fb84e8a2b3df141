#include <sys/stat.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>

#include "commands.h"
#include "csp/json/json.h"
#include "exit_codes.h"

namespace csp::job_runner {

const std::vector<Command>& Commands() {
  // clang-format off
  static const std::vector<Command> kCommands = {
    {"run", "<jobFile> [--state F] [--emit [F]] [--keep] [--overwrite] [--dry-run] [--set k=v] [--input F]",
     "submit a job and follow it until it ends (the default command)",
     "Creates the job's shared-state document from --state F and/or the job's initialState\n"
     "(plus --input and --set), submits the job to job-control and follows it live. Unless --keep,\n"
     "the state document the runner created is deleted at the end, also when the job fails.\n"
     "Exit: 0 completed, 1 failed and reverted (or cancelled), 3 a revert failed, 2 bad input,\n"
     "4 platform unreachable.", RunCommand},
    {"validate", "<jobFile> [--state F] [--offline]",
     "check a job file and, against the live platform, its services, forms and state",
     "Prints each problem. Exit 0 when there is none, 1 when there are problems, 2 when the file\n"
     "cannot be read, 4 when discovery cannot be reached (use --offline to check the document only).",
     ValidateCommand},
    {"status", "<jobId> [--json]", "show a job: its steps, tasks, reverts and outcome",
     "Exit 0 when the job exists (whatever its status), 1 when it does not.", StatusCommand},
    {"list", "[--status S] [--json]", "list jobs (optionally only those with status S)", "", ListCommand},
    {"watch", "<jobId>", "follow a running job live until it ends",
     "Exit codes as for run.", WatchCommand},
    {"events", "<jobId> [--after N] [--json]", "print a job's event log", "", EventsCommand},
    {"cancel", "<jobId>", "cancel a job (what ran is reverted)", "", CancelCommand},
    {"services", "[--json]", "what discovery knows: every service with its health", "", ServicesCommand},
    {"state", "get|put|delete <id> [FILE|-]", "read, write or delete a shared-state document",
     "put reads the document from FILE, or stdin when FILE is '-' or absent, and replaces the\n"
     "document (creating it when missing).", StateCommand},
    {"doctor", "", "check every platform component and say how to fix what is wrong",
     "Exit 0 when everything is healthy, 1 otherwise.", DoctorCommand},
    {"completion", "bash|zsh|fish", "print a shell completion script",
     "bash:  source <(job-runner completion bash)\n"
     "zsh:   source <(job-runner completion zsh)\n"
     "fish:  job-runner completion fish | source", CompletionCommand},
    {"version", "", "print the version", "", VersionCommand},
    {"help", "[command]", "show help for job-runner or one command", "", HelpCommand},
  };
  // clang-format on
  return kCommands;
}

const Command* FindCommand(std::string_view name) {
  for (const auto& c : Commands()) {
    if (name == c.name) return &c;
  }
  return nullptr;
}

size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

std::vector<std::string> Suggestions(std::string_view name) {
  std::vector<std::pair<size_t, std::string>> scored;
  for (const auto& c : Commands()) {
    const std::string_view candidate = c.name;
    const size_t distance = EditDistance(name, candidate);
    const bool prefix = name.size() >= 2 && candidate.substr(0, name.size()) == name;
    if (distance <= 2 || prefix) scored.emplace_back(prefix ? 0 : distance, c.name);
  }
  std::stable_sort(scored.begin(), scored.end(), [](const auto& x, const auto& y) { return x.first < y.first; });
  std::vector<std::string> out;
  for (auto& s : scored) out.push_back(std::move(s.second));
  return out;
}

namespace {

bool EndsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

Result<Choice> ChooseCommand(const std::vector<std::string>& positionals,
                             const std::function<bool(const std::string&)>& is_file) {
  if (positionals.empty()) return Choice{"help", {}};
  const std::string& first = positionals.front();
  if (FindCommand(first) != nullptr) return Choice{first, {positionals.begin() + 1, positionals.end()}};
  if (is_file(first) || EndsWith(first, ".json")) return Choice{"run", positionals};
  std::string message = "unknown command '" + first + "'";
  auto close = Suggestions(first);
  if (!close.empty()) {
    message += " (did you mean ";
    for (size_t i = 0; i < close.size() && i < 3; ++i) message += (i ? " or '" : "'") + close[i] + "'";
    message += "?)";
  } else {
    message += "; see job-runner help";
  }
  return InvalidArgument(message);
}

std::string UsageText() {
  std::ostringstream out;
  out << "job-runner: run jobs on the Composable Services Platform and see what happened.\n\n"
      << "Usage:\n  job-runner <jobFile> [flags]          (same as: job-runner run <jobFile>)\n"
      << "  job-runner <command> [args] [flags]\n\nCommands:\n";
  size_t width = 0;
  for (const auto& c : Commands()) width = std::max(width, std::strlen(c.name));
  for (const auto& c : Commands()) {
    out << "  " << c.name << std::string(width + 2 - std::strlen(c.name), ' ') << c.summary << "\n";
  }
  out << "\n" << FlagsHelp()
      << "\nSettings come from flags, then JOB_RUNNER_* environment variables, then the config\n"
      << "(./.job-runner.json, then $XDG_CONFIG_HOME/job-runner/config.json; contexts with --context).\n"
      << "Exit codes: 0 completed, 1 failed and reverted, 2 usage or input error, 3 a revert failed,\n"
      << "4 platform unreachable.\n";
  return out.str();
}

std::string CommandHelp(const Command& command) {
  std::string text = "Usage: job-runner " + std::string(command.name);
  if (std::strlen(command.usage) > 0) text += " " + std::string(command.usage);
  text += "\n\n" + std::string(command.summary) + ".\n";
  if (std::strlen(command.details) > 0) text += "\n" + std::string(command.details) + "\n";
  text += "\nSee job-runner help for every flag.\n";
  return text;
}

int Fail(Env& env, const Error& error) {
  env.err << "job-runner: " << error.message << "\n" << std::flush;
  return ExitCodeForError(error);
}

int UsageError(Env& env, const std::string& message) {
  env.err << "job-runner: " << message << "\n" << std::flush;
  return kExitUsage;
}

Result<json::Value> ReadJsonObjectFile(const std::string& path, const std::string& what, std::istream* in) {
  std::string text;
  if (path == "-" && in != nullptr) {
    std::ostringstream ss;
    ss << in->rdbuf();
    text = ss.str();
  } else {
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
      return InvalidArgument("cannot read " + what + " " + path + ": it is a directory");
    }
    std::ifstream file(path);
    if (!file) return InvalidArgument("cannot read " + what + " " + path + ": " + std::strerror(errno));
    std::ostringstream ss;
    ss << file.rdbuf();
    text = ss.str();
  }
  auto parsed = json::Parse(text);
  if (!parsed) return InvalidArgument(what + " " + path + ": invalid JSON at " + parsed.error().message);
  if (!parsed->IsObject()) return InvalidArgument(what + " " + path + ": expected a JSON object");
  return parsed;
}

Status WriteTextFile(const std::string& path, const std::string& text) {
  std::ofstream file(path, std::ios::trunc);
  if (!file) return InvalidArgument("cannot write " + path + ": " + std::strerror(errno));
  file << text;
  file.close();
  if (!file) return InvalidArgument("cannot write " + path + ": " + std::strerror(errno));
  return Ok();
}

}  // namespace csp::job_runner
