// Process control for integration tests: fork/exec with pipes, poll() under deadlines, and
// children that die with the test (PR_SET_PDEATHSIG).
//
// Between fork() and exec() the child only calls async-signal-safe functions: the test process
// has threads (servers, clients), and anything that takes a lock could deadlock there. Everything
// the child needs (argv, envp, paths) is therefore built before fork().

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "csp/test_support/process.h"

extern char** environ;

namespace csp::test {
namespace {

using Steady = std::chrono::steady_clock;

constexpr size_t kLogTailBytes = 2048;
constexpr std::string_view kListeningPrefix = "listening on ";

// A file descriptor closed on destruction.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() { Close(); }
  Fd(Fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  Fd& operator=(Fd&& other) noexcept {
    if (this != &other) {
      Close();
      fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  void Close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
};

struct Pipe {
  Fd read;
  Fd write;
};

// Both ends close-on-exec: the child dup2()s the end it needs onto 0/1/2, which clears the flag.
Pipe MakePipe() {
  int fds[2] = {-1, -1};
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    std::fprintf(stderr, "test_support: pipe2 failed: %s\n", std::strerror(errno));
    std::abort();
  }
  return Pipe{Fd(fds[0]), Fd(fds[1])};
}

// A NULL-terminated char* array pointing into `strings`, which must outlive it.
std::vector<char*> CStrings(std::vector<std::string>& strings) {
  std::vector<char*> out;
  out.reserve(strings.size() + 1);
  for (auto& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

int DecodeStatus(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

int MillisLeft(Steady::time_point deadline) {
  // Rounded up: a deadline is never reported as passed before it has.
  auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Steady::now()).count();
  return static_cast<int>(std::clamp<long long>(left, 0, 1'000'000));
}

// Child side, after fork(): async-signal-safe calls only.
[[noreturn]] void ChildFail(const char* what, const char* name) {
  const char* reason = std::strerror(errno);  // glibc's strerror reads a static table here
  auto put = [](const char* s) { (void)!::write(2, s, std::strlen(s)); };
  put("test_support: ");
  put(what);
  put(" ");
  put(name);
  put(": ");
  put(reason);
  put("\n");
  ::_exit(127);
}

void ChildCommonSetup(pid_t parent) {
  // Die with the test. The signal fires when the forking *thread* exits; doctest runs tests on
  // the main thread, so that is the test process's lifetime.
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != parent) ::_exit(127);  // the parent died before prctl took effect
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  ::signal(SIGPIPE, SIG_DFL);
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::string Tail(const std::string& text, size_t bytes) {
  if (text.size() <= bytes) return text;
  return "..." + text.substr(text.size() - bytes);
}

// The environment of this process with `extra` ("K=V") added; an extra key replaces an inherited one.
std::vector<std::string> MergedEnvironment(const std::vector<std::string>& extra) {
  std::vector<std::string> env;
  auto key_of = [](const std::string& entry) { return entry.substr(0, entry.find('=')); };
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string entry(*e);
    std::string key = key_of(entry);
    bool replaced = std::any_of(extra.begin(), extra.end(), [&](const std::string& x) { return key_of(x) == key; });
    if (!replaced) env.push_back(std::move(entry));
  }
  env.insert(env.end(), extra.begin(), extra.end());
  return env;
}

// Writes to a pipe whose reader may be gone, without letting SIGPIPE kill the test: the signal
// is blocked on this thread for the write and a pending one is consumed afterwards.
ssize_t WriteNoSigpipe(int fd, const char* data, size_t size) {
  sigset_t pipe_set;
  sigset_t old_set;
  sigemptyset(&pipe_set);
  sigaddset(&pipe_set, SIGPIPE);
  ::pthread_sigmask(SIG_BLOCK, &pipe_set, &old_set);
  ssize_t n = ::write(fd, data, size);
  int saved_errno = errno;
  if (n < 0 && saved_errno == EPIPE) {
    timespec zero{0, 0};
    while (::sigtimedwait(&pipe_set, nullptr, &zero) == SIGPIPE) {
    }
  }
  ::pthread_sigmask(SIG_SETMASK, &old_set, nullptr);
  errno = saved_errno;
  return n;
}

// "listening on http://127.0.0.1:4567" -> url and port; false when the line does not parse.
bool ParseListeningLine(std::string_view line, std::string& url, int& port) {
  if (line.rfind(kListeningPrefix, 0) != 0) return false;
  std::string_view rest = line.substr(kListeningPrefix.size());
  while (!rest.empty() && std::isspace(static_cast<unsigned char>(rest.back()))) rest.remove_suffix(1);
  size_t colon = rest.rfind(':');
  if (colon == std::string_view::npos || colon + 1 >= rest.size()) return false;
  std::string_view digits = rest.substr(colon + 1);
  while (!digits.empty() && digits.back() == '/') digits.remove_suffix(1);
  if (digits.empty() || !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return false;
  }
  url = std::string(rest);
  while (!url.empty() && url.back() == '/') url.pop_back();
  port = std::atoi(std::string(digits).c_str());
  return true;
}

}  // namespace

// ---- TempDir ----

TempDir::TempDir() {
  const char* base = std::getenv("TMPDIR");
  std::string pattern = std::string(base != nullptr && *base != '\0' ? base : "/tmp") + "/csp-test-XXXXXX";
  if (::mkdtemp(pattern.data()) == nullptr) {
    std::fprintf(stderr, "test_support: mkdtemp(%s) failed: %s\n", pattern.c_str(), std::strerror(errno));
    std::abort();
  }
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

// ---- BinaryPath ----

std::string BinaryPath(const std::string& name) {
  std::string var = "CSP_";
  for (char c : name) var += c == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  var += "_BIN";
  const char* value = std::getenv(var.c_str());
  if (value == nullptr || *value == '\0') {
    std::fprintf(stderr,
                 "test_support: %s is not set. Run this test through ctest, and list the '%s' target under "
                 "BINARIES in its csp_add_integration_test().\n",
                 var.c_str(), name.c_str());
    std::fflush(stderr);
    std::abort();
  }
  return value;
}

std::string SourcePath(const std::string& relative) {
  const char* root = std::getenv("CSP_SOURCE_DIR");
  if (root == nullptr || *root == '\0') {
    std::fprintf(stderr, "test_support: CSP_SOURCE_DIR is not set. Run this test through ctest.\n");
    std::fflush(stderr);
    std::abort();
  }
  return std::string(root) + "/" + relative;
}

// ---- Process ----

Result<std::unique_ptr<Process>> Process::Start(const std::string& binary, const std::vector<std::string>& args,
                                                std::chrono::milliseconds timeout) {
  auto deadline = Steady::now() + timeout;
  std::unique_ptr<Process> process(new Process());
  process->log_dir_ = std::make_unique<TempDir>();
  process->log_path_ = process->log_dir_->path() + "/stderr.log";

  Fd log_fd(::open(process->log_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (!log_fd.valid()) return Unavailable("cannot create " + process->log_path_ + ": " + std::strerror(errno));
  Fd null_fd(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  Pipe out = MakePipe();

  std::vector<std::string> argv_strings;
  argv_strings.push_back(binary);
  argv_strings.insert(argv_strings.end(), args.begin(), args.end());
  std::vector<char*> argv = CStrings(argv_strings);

  pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid < 0) return Unavailable(std::string("fork failed: ") + std::strerror(errno));
  if (pid == 0) {
    ChildCommonSetup(parent);
    if (::dup2(null_fd.get(), 0) < 0 || ::dup2(out.write.get(), 1) < 0 || ::dup2(log_fd.get(), 2) < 0) {
      ChildFail("dup2 for", binary.c_str());
    }
    ::execv(binary.c_str(), argv.data());
    ChildFail("exec", binary.c_str());
  }
  process->pid_ = pid;
  out.write.Close();
  log_fd.Close();

  std::string buffer;
  auto fail = [&](const std::string& why) -> Error {
    process->Kill();
    return Unavailable(binary + " " + why + "; stdout: \"" + Tail(buffer, 512) + "\"; log tail:\n" +
                       Tail(process->log(), kLogTailBytes));
  };
  while (true) {
    size_t newline;
    while ((newline = buffer.find('\n')) != std::string::npos) {
      std::string line = buffer.substr(0, newline);
      buffer.erase(0, newline + 1);
      if (ParseListeningLine(line, process->url_, process->port_)) {
        // Services print nothing else on stdout and ignore SIGPIPE, so the pipe can go now.
        return process;
      }
    }
    int left = MillisLeft(deadline);
    if (left == 0) return fail("printed no \"listening on\" line within " + std::to_string(timeout.count()) + " ms");
    pollfd pfd{out.read.get(), POLLIN, 0};
    int ready = ::poll(&pfd, 1, left);
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) continue;
    char chunk[4096];
    ssize_t n = ::read(out.read.get(), chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      int status = process->Wait(std::chrono::milliseconds(std::max(MillisLeft(deadline), 200)));
      return fail("exited (status " + std::to_string(status) + ") before printing \"listening on\"");
    }
    buffer.append(chunk, static_cast<size_t>(n));
  }
}

Process::~Process() { Kill(); }

bool Process::running() {
  if (pid_ <= 0 || exit_status_ >= 0) return false;
  int status = 0;
  pid_t r = ::waitpid(pid_, &status, WNOHANG);
  if (r == pid_) {
    exit_status_ = DecodeStatus(status);
    return false;
  }
  return r == 0;
}

void Process::Signal(int sig) {
  if (running()) ::kill(pid_, sig);
}

void Process::Kill() {
  if (!running()) return;
  ::kill(pid_, SIGKILL);
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  exit_status_ = DecodeStatus(status);
}

int Process::Terminate(std::chrono::milliseconds timeout) {
  if (!running()) return exit_status_;
  ::kill(pid_, SIGTERM);
  int status = Wait(timeout);
  if (status >= 0) return status;
  Kill();
  return -1;
}

int Process::Wait(std::chrono::milliseconds timeout) {
  WaitFor([this] { return !running(); }, timeout);
  return exit_status_;
}

std::string Process::log() const { return ReadFile(log_path_); }

// ---- RunCommand ----

CommandResult RunCommand(const std::vector<std::string>& argv, const std::string& cwd,
                         const std::vector<std::string>& extra_env, std::chrono::milliseconds timeout,
                         const std::string& stdin_text) {
  CommandResult result;
  if (argv.empty()) {
    result.err = "RunCommand: empty argv";
    return result;
  }
  auto deadline = Steady::now() + timeout;
  std::vector<std::string> argv_strings = argv;
  std::vector<char*> c_argv = CStrings(argv_strings);
  std::vector<std::string> env_strings = MergedEnvironment(extra_env);
  std::vector<char*> c_env = CStrings(env_strings);
  Pipe in = MakePipe();
  Pipe out = MakePipe();
  Pipe err = MakePipe();

  pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid < 0) {
    result.err = std::string("RunCommand: fork failed: ") + std::strerror(errno);
    return result;
  }
  if (pid == 0) {
    ChildCommonSetup(parent);
    // Its own process group, so a timeout kills whatever the command started too.
    ::setpgid(0, 0);
    if (::dup2(in.read.get(), 0) < 0 || ::dup2(out.write.get(), 1) < 0 || ::dup2(err.write.get(), 2) < 0) {
      ChildFail("dup2 for", c_argv[0]);
    }
    if (!cwd.empty() && ::chdir(cwd.c_str()) != 0) ChildFail("chdir to", cwd.c_str());
    ::execvpe(c_argv[0], c_argv.data(), c_env.data());
    ChildFail("exec", c_argv[0]);
  }
  ::setpgid(pid, pid);  // also from the parent, so the group exists before any kill below
  in.read.Close();
  out.write.Close();
  err.write.Close();
  ::fcntl(in.write.get(), F_SETFL, O_NONBLOCK);
  size_t stdin_written = 0;
  if (stdin_text.empty()) in.write.Close();

  bool timed_out = false;
  while (out.read.valid() || err.read.valid()) {
    int left = MillisLeft(deadline);
    if (left == 0) {
      timed_out = true;
      break;
    }
    pollfd fds[3];
    nfds_t count = 0;
    Fd* owners[3];
    for (Fd* fd : {&out.read, &err.read}) {
      if (!fd->valid()) continue;
      fds[count] = pollfd{fd->get(), POLLIN, 0};
      owners[count++] = fd;
    }
    if (in.write.valid()) {
      fds[count] = pollfd{in.write.get(), POLLOUT, 0};
      owners[count++] = &in.write;
    }
    int ready = ::poll(fds, count, left);
    if (ready < 0 && errno != EINTR) break;
    for (nfds_t i = 0; ready > 0 && i < count; ++i) {
      if (fds[i].revents == 0) continue;
      if (owners[i] == &in.write) {
        ssize_t n = WriteNoSigpipe(in.write.get(), stdin_text.data() + stdin_written,
                                   stdin_text.size() - stdin_written);
        if (n > 0) stdin_written += static_cast<size_t>(n);
        if ((n < 0 && errno != EAGAIN && errno != EINTR) || stdin_written == stdin_text.size()) in.write.Close();
        continue;
      }
      char chunk[8192];
      ssize_t n = ::read(owners[i]->get(), chunk, sizeof chunk);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        owners[i]->Close();
        continue;
      }
      (owners[i] == &out.read ? result.out : result.err).append(chunk, static_cast<size_t>(n));
    }
  }
  in.write.Close();

  // Both outputs closed: the command is exiting (or closed them itself); wait under the deadline.
  int status = 0;
  while (!timed_out) {
    pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) {
      result.exit_code = DecodeStatus(status);
      return result;
    }
    if (MillisLeft(deadline) == 0) timed_out = true;
    if (!timed_out) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ::kill(-pid, SIGKILL);
  ::kill(pid, SIGKILL);
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  result.exit_code = -1;
  return result;
}

// ---- WaitFor, FreePort ----

bool WaitFor(const std::function<bool()>& condition, std::chrono::milliseconds timeout) {
  auto deadline = Steady::now() + timeout;
  while (true) {
    if (condition()) return true;
    if (Steady::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

int FreePort() {
  Fd sock(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!sock.valid()) return 0;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  if (::bind(sock.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) return 0;
  socklen_t len = sizeof addr;
  if (::getsockname(sock.get(), reinterpret_cast<sockaddr*>(&addr), &len) != 0) return 0;
  return ntohs(addr.sin_port);
}

}  // namespace csp::test
