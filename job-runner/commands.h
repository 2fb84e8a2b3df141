#pragma once
// The command table (STYLE.md practice 18): one row {name, usage, summary, handler} per
// subcommand. `help` lists the table; an unknown command gets "did you mean". A first argument
// that is not a command but names an existing file or ends in ".json" is a job file for `run`,
// so `job-runner job.json` is `job-runner run job.json` (the original's only form).

#include <functional>
#include <iosfwd>
#include <string>
#include <string_view>
#include <vector>

#include "csp/core/result.h"
#include "csp/http_client/client.h"
#include "csp/json/value.h"
#include "options.h"

namespace csp::job_runner {

struct Terminal {
  bool out_tty = false;
  bool err_tty = false;
  int width = 0;   // columns; 0 when unknown
  int height = 0;  // rows; 0 when unknown
  bool color = false;  // NO_COLOR unset and TERM not "dumb"
};

// What a command runs with. Built by main; tests build it with string streams.
struct Env {
  Options options;
  std::ostream& out;
  std::ostream& err;
  std::istream& in;
  http_client::Client& http;
  Terminal terminal;
  // How many times the user pressed Ctrl-C so far.
  std::function<int()> interrupts = [] { return 0; };
};

using Handler = int (*)(Env&);

struct Command {
  const char* name;
  const char* usage;    // arguments, e.g. "<jobFile> [flags]"
  const char* summary;  // one line for the listing
  const char* details;  // the rest of `help <command>`; may be ""
  Handler handler;
};

const std::vector<Command>& Commands();
const Command* FindCommand(std::string_view name);

// Levenshtein distance.
size_t EditDistance(std::string_view a, std::string_view b);
// Command names close to `name` (distance <= 2, or a prefix of it), closest first.
std::vector<std::string> Suggestions(std::string_view name);

struct Choice {
  std::string command;
  std::vector<std::string> args;
};
// Picks the command from the positionals (see the file comment). Errors (kInvalidArgument):
// "unknown command 'stauts' (did you mean 'status'?)"; no positionals gives command "help".
Result<Choice> ChooseCommand(const std::vector<std::string>& positionals,
                             const std::function<bool(const std::string&)>& is_file);

// `job-runner help`: the usage line, the command table, the flags.
std::string UsageText();
std::string CommandHelp(const Command& command);

// Prints "job-runner: <message>" on err and returns ExitCodeForError(error).
int Fail(Env& env, const Error& error);
// Prints "job-runner: <message>" on err and returns 2.
int UsageError(Env& env, const std::string& message);

// Reads a file that must hold a JSON object. Errors (kInvalidArgument): "cannot read job file
// F: No such file or directory", "job file F: offset 3: ...", "job file F: expected a JSON object".
// `path` "-" reads `in`.
Result<json::Value> ReadJsonObjectFile(const std::string& path, const std::string& what, std::istream* in = nullptr);
// Writes text to a file (replacing it). Errors: kInvalidArgument naming the file.
Status WriteTextFile(const std::string& path, const std::string& text);

// The handlers, one file per group.
int RunCommand(Env& env);         // run_command.cpp
int ValidateCommand(Env& env);    // validate_command.cpp
int StatusCommand(Env& env);      // job_commands.cpp
int ListCommand(Env& env);
int WatchCommand(Env& env);
int EventsCommand(Env& env);
int CancelCommand(Env& env);
int ServicesCommand(Env& env);    // platform_commands.cpp
int StateCommand(Env& env);
int DoctorCommand(Env& env);
int CompletionCommand(Env& env);  // misc_commands.cpp
int VersionCommand(Env& env);
int HelpCommand(Env& env);

}  // namespace csp::job_runner
