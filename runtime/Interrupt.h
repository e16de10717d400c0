//===- Interrupt.h - Ctrl-C as a request to stop, not a kill --------------===//
//
// While a model runs, SIGINT only raises a flag: one-shot generation stops
// and reports its timing, a chat reply stops and the chat returns to its
// prompt, and Ctrl-C (or EOF) at the prompt ends the chat. Worker threads
// block the signal, so it always reaches the main thread (and interrupts a
// blocking read of the next chat message).
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_RUNTIME_INTERRUPT_H
#define LLMC_RUNTIME_INTERRUPT_H

#include <atomic>

namespace llmc {

/// Makes SIGINT set interruptFlag() instead of ending the process.
void installInterruptHandler();

/// Raised by SIGINT; whoever handles an interrupt clears it.
std::atomic<bool> &interruptFlag();

} // namespace llmc

#endif // LLMC_RUNTIME_INTERRUPT_H
