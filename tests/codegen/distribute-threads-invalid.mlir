// RUN: llm-opt %s --llm-distribute-threads --verify-diagnostics

// expected-error @+1 {{llm-distribute-threads: expected (tid: index, nthreads: index, ...) arguments}}
func.func @no_worker_ids(%a: memref<?x8xf32>) {
  return
}
