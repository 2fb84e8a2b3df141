// completion, version, help.

#include <ostream>
#include <set>

#include "commands.h"
#include "exit_codes.h"

namespace csp::job_runner {
namespace {

// Flags whose value is a file name.
const std::set<std::string> kFileFlags = {"state", "emit", "input", "config", "token-file"};
constexpr const char* kStatuses = "queued running reverting completed failed revert-failed cancelled";

std::string CommandNames() {
  std::string out;
  for (const auto& c : Commands()) out += (out.empty() ? "" : " ") + std::string(c.name);
  return out;
}

// Single quotes for shells: ' becomes '\''.
std::string Quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

std::string Bash() {
  std::string flags;
  std::string file_flags;
  for (const auto& [name, help] : FlagList()) {
    flags += (flags.empty() ? "--" : " --") + name;
    if (kFileFlags.count(name)) file_flags += (file_flags.empty() ? "--" : "|--") + name;
  }
  return "# bash completion for job-runner: source <(job-runner completion bash)\n"
         "_job_runner() {\n"
         "  local cur=\"${COMP_WORDS[COMP_CWORD]}\" prev=\"${COMP_WORDS[COMP_CWORD-1]}\"\n"
         "  case \"$prev\" in\n"
         "    " + file_flags + ") COMPREPLY=( $(compgen -f -- \"$cur\") ); return ;;\n"
         "    --status) COMPREPLY=( $(compgen -W \"" + kStatuses + "\" -- \"$cur\") ); return ;;\n"
         "    completion) COMPREPLY=( $(compgen -W \"bash zsh fish\" -- \"$cur\") ); return ;;\n"
         "    state) COMPREPLY=( $(compgen -W \"get put delete\" -- \"$cur\") ); return ;;\n"
         "    help) COMPREPLY=( $(compgen -W \"" + CommandNames() + "\" -- \"$cur\") ); return ;;\n"
         "  esac\n"
         "  if [[ \"$cur\" == -* ]]; then COMPREPLY=( $(compgen -W \"" + flags + "\" -- \"$cur\") ); return; fi\n"
         "  if [[ $COMP_CWORD -eq 1 ]]; then\n"
         "    COMPREPLY=( $(compgen -W \"" + CommandNames() + "\" -- \"$cur\") $(compgen -f -X '!*.json' -- \"$cur\") )\n"
         "    return\n"
         "  fi\n"
         "  COMPREPLY=( $(compgen -f -- \"$cur\") )\n"
         "}\n"
         "complete -o filenames -o bashdefault -F _job_runner job-runner\n";
}

std::string Zsh() {
  std::string out =
      "#compdef job-runner\n"
      "# zsh completion for job-runner: source <(job-runner completion zsh)\n"
      "_job_runner() {\n"
      "  local -a commands\n"
      "  commands=(\n";
  for (const auto& c : Commands()) out += "    " + Quote(std::string(c.name) + ":" + c.summary) + "\n";
  out += "  )\n  _arguments -s \\\n";
  for (const auto& [name, help] : FlagList()) {
    std::string text = help;
    for (char& ch : text) {
      if (ch == '[' || ch == ']') ch = ch == '[' ? '(' : ')';
    }
    std::string spec = "--" + name + "[" + text + "]";
    if (kFileFlags.count(name)) spec += ":file:_files";
    if (name == "status") spec += std::string(":status:(") + kStatuses + ")";
    out += "    " + Quote(spec) + " \\\n";
  }
  out +=
      "    '1: :->first' \\\n"
      "    '*:: :_files'\n"
      "  if [[ $state == first ]]; then\n"
      "    _describe 'command' commands\n"
      "    _files -g '*.json'\n"
      "  fi\n"
      "}\n"
      "compdef _job_runner job-runner\n";
  return out;
}

std::string Fish() {
  std::string out =
      "# fish completion for job-runner: job-runner completion fish | source\n"
      "complete -c job-runner -f\n";
  for (const auto& c : Commands()) {
    out += "complete -c job-runner -n __fish_use_subcommand -a " + std::string(c.name) + " -d " + Quote(c.summary) + "\n";
  }
  out += "complete -c job-runner -n __fish_use_subcommand -a '(__fish_complete_suffix .json)'\n";
  out += "complete -c job-runner -n '__fish_seen_subcommand_from completion' -a 'bash zsh fish'\n";
  out += "complete -c job-runner -n '__fish_seen_subcommand_from state' -a 'get put delete'\n";
  for (const auto& [name, help] : FlagList()) {
    out += "complete -c job-runner -l " + name;
    if (kFileFlags.count(name)) out += " -r -F";
    if (name == "status") out += std::string(" -x -a '") + kStatuses + "'";
    out += " -d " + Quote(help) + "\n";
  }
  return out;
}

}  // namespace

int CompletionCommand(Env& env) {
  const auto& args = env.options.args;
  const std::string shell = args.size() == 1 ? args[0] : "";
  if (shell == "bash") env.out << Bash();
  if (shell == "zsh") env.out << Zsh();
  if (shell == "fish") env.out << Fish();
  if (shell == "bash" || shell == "zsh" || shell == "fish") return kExitOk;
  return UsageError(env, "completion: expected bash, zsh or fish");
}

int VersionCommand(Env& env) {
  env.out << "job-runner " << CSP_VERSION << "\n";
  return kExitOk;
}

int HelpCommand(Env& env) {
  const auto& args = env.options.args;
  if (args.empty()) {
    env.out << UsageText();
    return kExitOk;
  }
  if (const Command* command = FindCommand(args[0])) {
    env.out << CommandHelp(*command);
    return kExitOk;
  }
  auto choice = ChooseCommand({args[0]}, [](const std::string&) { return false; });
  return UsageError(env, choice ? "help: unknown command '" + args[0] + "'" : choice.error().message);
}

}  // namespace csp::job_runner
