/*===- Version.h - llmc's version, for every tool and executable ---------===*
 *
 * One definition for llmc, llm-opt, llmc-bench and the runtime linked into
 * every compiled executable (their --version). Plain C, as the ABI header.
 *
 *===---------------------------------------------------------------------===*/

#ifndef LLMC_RUNTIME_ABI_VERSION_H
#define LLMC_RUNTIME_ABI_VERSION_H

#define LLMC_VERSION "0.1.0"

#endif /* LLMC_RUNTIME_ABI_VERSION_H */
