//===- InterruptTool.cpp - Drives a program through stdin and SIGINT ------===//
//
//   llmc-test-interrupt [--pty] STEP... -- PROGRAM ARG...
//
// Runs PROGRAM with pipes on its stdin, stdout and stderr and performs the
// steps in order, so that a test can press Ctrl-C at a known point of a chat
// (in the middle of a reply, at the prompt) without depending on timing.
// With --pty its stdin and stderr are a pseudo-terminal instead (stdout
// stays a pipe), as when a person types at the program, and the tool ends
// its stderr with whether the program left the terminal's echo on.
//
//   send:TEXT     writes TEXT and a line break (Enter on a terminal) to the
//                 program's stdin
//   keys:TEXT     writes TEXT with \e (escape), \r, \n, \xNN and \\
//                 replaced by their bytes, and no line break
//   wait-out      waits until the program writes to stdout after the last
//                 step that waited
//   wait-err:TEXT waits until TEXT appears on stderr after the last match
//   sigint        sends SIGINT to the program
//   sigterm       sends SIGTERM to the program
//   close         closes the program's stdin (EOF)
//
// Afterwards it copies what the program wrote to its own stdout and stderr
// and exits with the program's status (128 + N when signal N killed it). A
// step that waits more than 60 s fails the tool with exit code 2.
//
//===----------------------------------------------------------------------===//

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <string>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>
#include <vector>

namespace {

int fail(const std::string &message) {
  std::fprintf(stderr, "llmc-test-interrupt: %s\n", message.c_str());
  return 2;
}

struct Child {
  pid_t pid = -1;
  int in = -1, out = -1, err = -1;
  std::string outText, errText;
  bool outOpen = true, errOpen = true;

  /// Reads whatever is ready on stdout and stderr, waiting up to `ms`.
  void pump(int ms) {
    pollfd fds[2];
    int n = 0;
    if (outOpen)
      fds[n++] = {out, POLLIN, 0};
    if (errOpen)
      fds[n++] = {err, POLLIN, 0};
    if (n == 0) {
      usleep(useconds_t(ms) * 1000);
      return;
    }
    if (poll(fds, nfds_t(n), ms) <= 0)
      return;
    for (int i = 0; i < n; ++i) {
      if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR)))
        continue;
      char buf[4096];
      ssize_t got = read(fds[i].fd, buf, sizeof(buf));
      bool isOut = fds[i].fd == out;
      if (got <= 0) {
        (isOut ? outOpen : errOpen) = false;
        continue;
      }
      (isOut ? outText : errText).append(buf, size_t(got));
    }
  }
};

/// TEXT of a keys: step with its escapes replaced by bytes.
std::string unescape(const std::string &text) {
  std::string bytes;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '\\' || i + 1 == text.size()) {
      bytes += text[i];
      continue;
    }
    char c = text[++i];
    if (c == 'e')
      bytes += '\x1b';
    else if (c == 'r')
      bytes += '\r';
    else if (c == 'n')
      bytes += '\n';
    else if (c == 'x' && i + 2 < text.size()) {
      bytes += char(std::stoi(text.substr(i + 1, 2), nullptr, 16));
      i += 2;
    } else
      bytes += c;
  }
  return bytes;
}

} // namespace

int main(int argc, char **argv) {
  std::vector<std::string> steps;
  int at = 1;
  bool pty = at < argc && std::strcmp(argv[at], "--pty") == 0;
  if (pty)
    ++at;
  for (; at < argc && std::strcmp(argv[at], "--") != 0; ++at)
    steps.push_back(argv[at]);
  if (at + 1 >= argc)
    return fail("usage: llmc-test-interrupt STEP... -- PROGRAM ARG...");
  for (const std::string &step : steps)
    if (step != "wait-out" && step != "sigint" && step != "sigterm" &&
        step != "close" && step.rfind("send:", 0) != 0 &&
        step.rfind("keys:", 0) != 0 && step.rfind("wait-err:", 0) != 0)
      return fail("unknown step '" + step + "'");

  int inPipe[2], outPipe[2], errPipe[2];
  if (pipe(inPipe) || pipe(outPipe) || pipe(errPipe))
    return fail(std::string("pipe: ") + std::strerror(errno));
  // The terminal: the program's end replaces its stdin and stderr pipes.
  int master = -1, slave = -1;
  if (pty) {
    if (openpty(&master, &slave, nullptr, nullptr, nullptr) != 0)
      return fail(std::string("openpty: ") + std::strerror(errno));
    for (int *fd : {&inPipe[0], &errPipe[1]}) {
      close(*fd);
      *fd = dup(slave);
    }
    close(inPipe[1]);
    close(errPipe[0]);
    inPipe[1] = master;
    errPipe[0] = dup(master);
  }
  Child child;
  child.pid = fork();
  if (child.pid < 0)
    return fail(std::string("fork: ") + std::strerror(errno));
  if (child.pid == 0) {
    // The terminal becomes the child's controlling terminal, so that it
    // behaves as one (job control aside).
    if (pty) {
      setsid();
      ioctl(slave, TIOCSCTTY, 0);
      close(slave);
      close(master);
    }
    dup2(inPipe[0], 0);
    dup2(outPipe[1], 1);
    dup2(errPipe[1], 2);
    for (int fd :
         {inPipe[0], inPipe[1], outPipe[0], outPipe[1], errPipe[0], errPipe[1]})
      close(fd);
    execvp(argv[at + 1], argv + at + 1);
    std::fprintf(stderr, "cannot run %s: %s\n", argv[at + 1],
                 std::strerror(errno));
    _exit(127);
  }
  close(inPipe[0]);
  close(outPipe[1]);
  close(errPipe[1]);
  // The parent keeps the terminal's other end open (its settings outlive
  // the program: the last close would reset them), to report whether the
  // program gave the terminal its echo back.
  child.in = inPipe[1];
  child.out = outPipe[0];
  child.err = errPipe[0];
  signal(SIGPIPE, SIG_IGN);

  size_t outSeen = 0, errSeen = 0;
  auto waitFor = [&](auto done, const std::string &what) {
    auto start = std::chrono::steady_clock::now();
    while (!done()) {
      if (!child.outOpen && (pty || !child.errOpen))
        return fail("the program ended while waiting for " + what +
                    "; its stderr:\n" + child.errText);
      if (std::chrono::steady_clock::now() - start > std::chrono::seconds(60))
        return fail("waited 60 s for " + what + "; its stderr:\n" +
                    child.errText);
      child.pump(100);
    }
    return 0;
  };
  for (const std::string &step : steps) {
    int status = 0;
    if (step.rfind("send:", 0) == 0 || step.rfind("keys:", 0) == 0) {
      std::string line = step.rfind("send:", 0) == 0
                             ? step.substr(5) + (pty ? "\r" : "\n")
                             : unescape(step.substr(5));
      if (write(child.in, line.data(), line.size()) != ssize_t(line.size()))
        return fail("cannot write to the program's stdin");
    } else if (step == "wait-out") {
      status = waitFor([&] { return child.outText.size() > outSeen; },
                       "output on stdout");
      outSeen = child.outText.size();
    } else if (step.rfind("wait-err:", 0) == 0) {
      std::string text = step.substr(9);
      size_t found = std::string::npos;
      status = waitFor(
          [&] {
            found = child.errText.find(text, errSeen);
            return found != std::string::npos;
          },
          "'" + text + "' on stderr");
      if (found != std::string::npos)
        errSeen = found + text.size();
    } else if (step == "sigint") {
      kill(child.pid, SIGINT);
    } else if (step == "sigterm") {
      kill(child.pid, SIGTERM);
    } else if (step == "close") {
      close(child.in);
      child.in = -1;
    }
    if (status != 0) {
      kill(child.pid, SIGKILL);
      waitpid(child.pid, nullptr, 0);
      return status;
    }
  }
  int status = 0;
  if (pty) {
    // The terminal stays open on this side: wait for the program, then take
    // what it left on the terminal.
    while (waitpid(child.pid, &status, WNOHANG) == 0)
      child.pump(100);
    while (child.outOpen)
      child.pump(100);
    for (size_t before = SIZE_MAX; before != child.errText.size();) {
      before = child.errText.size();
      child.pump(100);
    }
    struct termios mode;
    bool echo = tcgetattr(slave, &mode) == 0 && (mode.c_lflag & ECHO);
    child.errText += std::string("\nllmc-test-interrupt: the terminal's echo "
                                 "is ") +
                     (echo ? "on" : "off") + "\n";
    close(slave);
  } else {
    while (child.outOpen || child.errOpen)
      child.pump(100);
    waitpid(child.pid, &status, 0);
  }
  std::fwrite(child.outText.data(), 1, child.outText.size(), stdout);
  std::fwrite(child.errText.data(), 1, child.errText.size(), stderr);
  if (WIFSIGNALED(status))
    return 128 + WTERMSIG(status);
  return WEXITSTATUS(status);
}
