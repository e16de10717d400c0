//===- Interrupt.cpp - Ctrl-C as a request to stop, not a kill ------------===//

#include "runtime/Interrupt.h"

#include <csignal>

using namespace llmc;

namespace {
std::atomic<bool> flag{false};
static_assert(std::atomic<bool>::is_always_lock_free,
              "set from a signal handler");

extern "C" void onInterrupt(int) { flag.store(true); }
} // namespace

std::atomic<bool> &llmc::interruptFlag() { return flag; }

void llmc::installInterruptHandler() {
  struct sigaction action = {};
  action.sa_handler = onInterrupt;
  sigemptyset(&action.sa_mask);
  // No SA_RESTART: a blocking read of the next chat message returns.
  action.sa_flags = 0;
  sigaction(SIGINT, &action, nullptr);
}
