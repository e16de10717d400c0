//===- Passes.td - llmc code generation passes -------------*- tablegen -*-===//

#ifndef LLMC_CODEGEN_PASSES_TD
#define LLMC_CODEGEN_PASSES_TD

include "mlir/Pass/PassBase.td"

def SelectStrategyPass : Pass<"llm-select-strategy", "ModuleOp"> {
  let summary = "Choose tiles and weight layouts for the module's target";
  let description = [{
    Looks up the backend of the module's `llm.target` (`#llm.target`) in the
    target registry and records, on every `llm.linear`, its register tile as
    `llm.lowering_config` (`tiles = [rows, block, depth step]`, the depth
    step from the L1 size, and `scalable_lanes` for vector-length agnostic
    targets) and, on its parameter, the packed `block` in `llm.layout`
    (rows of the weight matrix stored together so that one block is a whole
    number of vector registers). Generic passes only read these attributes.

    `matmul-precision` says what the projections may round: `f32` keeps
    their inputs in f32 (exact up to the order of the sums); `bf16` rounds
    the inputs of bf16 projections to bf16 and multiplies on the target's
    bf16 dot-product instruction (interleaved weights), an error on a target
    without one; `int8` quantizes the inputs of quantized (i8, i4)
    projections to 8 bits per row and group and multiplies on the target's
    8-bit dot product (weights interleaved by 4 columns), an error on a
    target without one; `int16` does so with inputs quantized to 16 bits,
    multiplied as two 8-bit halves; `auto` does the bf16 one where the
    target says its bf16 instruction is faster than its f32 FMA and int16
    wherever the target has an 8-bit dot product.
  }];
  let options = [
    Option<"matmulPrecision", "matmul-precision", "std::string",
           /*default=*/"\"auto\"", "auto, f32, bf16, int8 or int16">
  ];
  let dependentDialects = ["::mlir::llm::LLMDialect"];
}

def PlanWeightsPass : Pass<"llm-plan-weights", "ModuleOp"> {
  let summary = "Assign every parameter its place in the packed weight blob";
  let description = [{
    Gives each `llm.param`'s `llm.layout` an `offset` and a `layer_stride` in
    bytes (64-byte aligned), after padding blocked matrices to a whole number of blocks. The
    weight packer and the lowering both read these attributes, so the file and
    the code agree by construction. Sets `llm.weights_bytes` on the module.
  }];
  let dependentDialects = ["::mlir::llm::LLMDialect"];
}

def EstimateCostsPass : Pass<"llm-estimate-costs", "ModuleOp"> {
  let summary = "Record what each kernel reads and computes";
  let description = [{
    Sets the module attribute `llm.costs`: for every kernel name the CPU
    lowering will give (the module names of an llm op's location, as
    `llm-outline-kernels` names kernels), the FLOPs and bytes of its ops per
    row of a forward call (`flops_per_row`, `bytes_per_row`; `rows =
    "outputs"` when the rows are the call's output rows, as for the
    lm_head), per call (`bytes_per_call`: one layer's packed weights), and
    per (query row, cached position) pair (`flops_per_pair`,
    `bytes_per_pair`: attention). Bytes count the packed weights and the
    activations once; what the caches save is not subtracted. The
    executable's `--profile` divides these by the kernels' times.
  }];
  let dependentDialects = ["::mlir::llm::LLMDialect"];
}

def MaterializeABIPass : Pass<"llm-materialize-abi", "ModuleOp"> {
  let summary = "Give every function llmc's calling convention";
  let description = [{
    On tensors, before the lowering: every function f(args) -> results
    becomes f(tid, nthreads, args..., capacity, weights, kv, scratch) ->
    results, where `tid`/`nthreads` are the SPMD worker id and count,
    `capacity` the KV cache's positions, `weights` the packed weight blob,
    `kv` the KV cache (its `!llm.kv_cache` argument moves there) and
    `scratch` the activation arena; calls pass their caller's. The entry
    point `llmc_forward` also takes `logits`, the runtime's flat
    memref<?xf32>, and writes its result there
    (`bufferization.materialize_in_destination` into a [rows, vocab] view)
    instead of returning it. Sets `llm.kv_bytes_per_position` on the module.
    runtime/abi/ModelABI.h is the runtime's side of this contract.
  }];
  let dependentDialects = [
    "::mlir::llm::LLMDialect", "::mlir::bufferization::BufferizationDialect",
    "::mlir::memref::MemRefDialect", "::mlir::tensor::TensorDialect"
  ];
}

def ConvertLLMToLinalgPass : Pass<"convert-llm-to-linalg", "ModuleOp"> {
  let summary = "Lower llm ops to linalg, scf and vector on buffers";
  let description = [{
    A dialect conversion with one pattern per llm op: tensors become memrefs,
    projections become multiply-add `linalg.generic`s over the packed weights
    (carrying their `llm.lowering_config`), normalization, RoPE and
    elementwise ops linalg generics, attention an `scf.forall` over
    (head, row) pairs whose body is vector code over one head. Weights become
    views of the weight blob at the offsets `llm-plan-weights` assigned;
    the `llm.param` ops stay (the weight file is packed from them, so that
    linalg-level IR still compiles to an executable) until
    `llm-erase-params`. Every new activation is a `memref.alloc` (see
    `llm-plan-scratch`). Needs the calling convention of
    `llm-materialize-abi`.
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect", "::mlir::func::FuncDialect",
    "::mlir::linalg::LinalgDialect", "::mlir::math::MathDialect",
    "::mlir::memref::MemRefDialect", "::mlir::scf::SCFDialect",
    "::mlir::vector::VectorDialect"
  ];
}

def EraseParamsPass : Pass<"llm-erase-params", "ModuleOp"> {
  let summary = "Erase the llm.param ops of lowered code";
  let description = [{
    After `convert-llm-to-linalg` the code addresses its weights by offset;
    the `llm.param` ops only describe the weight file's layout. The lowering
    pipelines start by erasing them.
  }];
}

def PlanScratchPass : Pass<"llm-plan-scratch", "ModuleOp"> {
  let summary = "Place every activation buffer in the scratch arena";
  let description = [{
    Replaces each `memref.alloc` of a [rows] or [rows, N] f32 buffer by a
    view of the function's `scratch` argument at its own slot of
    `max-tokens` rows (64-byte aligned, in program order, never reused).
    Sets `llm.scratch_bytes` and `llm.max_tokens` on the module.
  }];
  let options = [
    Option<"maxTokens", "max-tokens", "int64_t", /*default=*/"256",
           "Largest number of tokens one forward call processes">,
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect", "::mlir::memref::MemRefDialect"
  ];
}

def DistributeToThreadsPass : Pass<"llm-distribute-threads", "ModuleOp"> {
  let summary = "Split each kernel across the SPMD workers";
  let description = [{
    Every worker runs the whole function. Each top-level linalg op is tiled
    along one parallel dimension (for packed matmuls, the block dimension;
    otherwise the largest static one), other writes run on worker 0 only, and
    a call to `llmc_barrier` follows each of them. Packed matmuls and
    `scf.forall` loops are cut into `chunks-per-worker` chunks per worker that
    the workers claim from the runtime (`llmc_next_chunk`, a counter the
    barrier resets) until none is left, which balances workers that run at
    different speeds; other kernels, and all of them with
    `chunks-per-worker=0`, give each worker one contiguous chunk.
  }];
  let options = [
    Option<"chunksPerWorker", "chunks-per-worker", "unsigned", /*default=*/"8",
           "Chunks per worker of the claimed kernels (0: one contiguous "
           "chunk each, fixed by the worker id)">
  ];
  let dependentDialects = [
    "::mlir::affine::AffineDialect", "::mlir::arith::ArithDialect",
    "::mlir::func::FuncDialect", "::mlir::scf::SCFDialect"
  ];
}

def OutlineKernelsPass : Pass<"llm-outline-kernels", "ModuleOp"> {
  let summary = "Move each kernel into a function named after its module";
  let description = [{
    Runs after `llm-distribute-threads`. Every op a call to `llmc_barrier`
    follows (a worker's share of one kernel), together with the side-effect
    free ops before it that only it uses, moves into a private function
    called in its place. The function is named after the kernel's location:
    the module of a `NameLoc` (`model.layers.{layer}.mlp.down_proj`), the
    common prefix and the rest of each module of a `FusedLoc`
    (`model.layers.{layer}.self_attn.{q_proj,k_proj,v_proj}`), or
    `<caller>.kernel` without either; a second kernel of the same name gets
    `.1`, a third `.2`. Constants the kernel uses are cloned into it so that
    its sizes stay static; every other value it uses, the worker id and
    count included, becomes an argument. Barriers stay in the caller. The
    functions carry `no_inline` and internal `llvm.linkage`, which the LLVM
    lowering keeps, so the assembly and profiles show one local symbol per
    kernel.
  }];
  let dependentDialects = [
    "::mlir::func::FuncDialect", "::mlir::LLVM::LLVMDialect"
  ];
}

def TimeKernelsPass : Pass<"llm-time-kernels", "ModuleOp"> {
  let summary = "Mark each kernel's start for the executable's --profile";
  let description = [{
    Runs after `llm-outline-kernels`. Before each call of a kernel function
    (`no_inline`) it calls the runtime's `llmc_profile_mark(tid, kernel)`
    with the caller's worker id and the kernel's index, which returns at
    once unless the executable runs with `--profile`; then worker 0 charges
    the time until the next mark (its share, and the barrier's wait for the
    others) to the kernel. Adds the globals `llmc_kernel_count` (i64),
    `llmc_kernel_names` (the kernels' names, each ending in a NUL byte),
    `llmc_kernel_group` (each kernel's module, from `llm.kernel_module`),
    `llmc_group_count`, `llmc_group_names` and `llmc_group_costs` (per
    module: 1 when `llm.costs` has it, 1 when its rows are output rows,
    then FLOPs per row, bytes per row, bytes per call, FLOPs per pair,
    bytes per pair), from which the runtime reports GB/s and GFLOP/s.
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect", "::mlir::func::FuncDialect",
    "::mlir::LLVM::LLVMDialect"
  ];
}

def TileAndVectorizePass : Pass<"llm-tile-and-vectorize", "func::FuncOp"> {
  let summary = "Tile packed matmuls to register tiles and vectorize them";
  let description = [{
    Reads the `llm.lowering_config` the strategy recorded on each packed
    matmul, tiles the rows into register tiles (with a one-row remainder loop
    so every tile has a static shape) and rewrites each tile into a loop over
    the reduction whose body loads one packed weight vector, widens it to f32
    and does one vector FMA per row into accumulators carried in registers.
    A matmul over interleaved bf16 weights (pairs of columns together) and
    bf16 inputs becomes one `vdpbf16ps` per row and 16 lanes instead, with
    each row's input pair broadcast; one over int8 or int4 weights
    interleaved by 4 and inputs quantized to 8 bits becomes the target's
    8-bit dot product per row and chunk of lanes, integer sums per group
    scaled into f32 accumulators. A row loop of 8 tiles or more over 16-bit
    float or quantized weights (f32 inputs) first widens (dequantizes) its
    block's panel to f32 in a stack buffer once, and its tiles read that;
    the loop is versioned so that few rows (decode) keep the in-register
    widening. Rows are chunked so that a chunk's inputs fit in half of the
    target's L2, by depth too where that leaves fewer than 16 tiles (also
    versioned on the row count).
  }];
  let dependentDialects = [
    "::mlir::affine::AffineDialect", "::mlir::arith::ArithDialect",
    "::mlir::scf::SCFDialect", "::mlir::vector::VectorDialect",
    "::mlir::memref::MemRefDialect", "::mlir::LLVM::LLVMDialect"
  ];
}

def ExpandExpPass : Pass<"llm-expand-exp", "ModuleOp"> {
  let summary = "Replace f32 math.exp by an inline polynomial";
  let description = [{
    Lowers every `math.exp` (scalar or vector, f32) to MLIR's polynomial
    approximation (range reduction + minimax polynomial, about 1 ulp), so
    vector exponentials in attention's softmax stay vector code instead of
    one libm call per lane. Other math ops are left to the LLVM lowering.
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect", "::mlir::math::MathDialect",
    "::mlir::vector::VectorDialect"
  ];
}

def DistributeToGPUPass : Pass<"llm-distribute-to-gpu", "func::FuncOp"> {
  let summary = "Turn every loop nest on buffers into a GPU kernel launch";
  let description = [{
    For GPU targets, after the lowering to linalg: every linalg op and every
    `scf.forall` of a host function becomes one `gpu.launch` whose threads
    each run one point of the op's parallel iteration space (the reduction
    dimensions stay sequential loops in the thread). A packed projection
    (with its `llm.lowering_config`) instead streams its weights: one thread
    per 16-byte group of output lanes and share of the depth (split-K sized
    at run time from the SM count), 16-byte weight loads, partial sums added
    atomically. From 16 rows on (prefill) the same launch runs a tiled form
    instead, chosen at run time with its grid: blocks of 64 rows x 2 weight
    blocks stage 32 depths at a time of activations and widened weights in
    workgroup memory, and each thread adds a 4 x 4 piece. Points are numbered
    with the innermost dimension fastest, so the threads of a warp touch
    neighbouring elements. Uses of `memref.get_global` move into the kernel.
    Afterwards no host code reads or writes a buffer: the pass fails if any
    load, store or copy is left outside a launch.
  }];
  let options = [
    Option<"threadsPerBlock", "threads-per-block", "int64_t", /*default=*/"256",
           "Threads of each block">,
  ];
  let dependentDialects = [
    "::mlir::gpu::GPUDialect", "::mlir::arith::ArithDialect",
    "::mlir::scf::SCFDialect", "::mlir::memref::MemRefDialect",
    "::mlir::vector::VectorDialect"
  ];
}

def GatherGPUKernelsPass : Pass<"llm-gather-gpu-kernels", "ModuleOp"> {
  let summary = "Put every outlined kernel into one GPU module for the target";
  let description = [{
    After `gpu-kernel-outlining` (one `gpu.module` per kernel): moves every
    kernel, and one copy of each global they use, into a single
    `gpu.module @llmc_kernels`, renaming the kernels after their former
    modules so that names stay unique, and attaches the `#nvvm.target` that
    the module's `#llm.target` describes (its `cpu` is the chip, its
    `features` the PTX version). One module is one PTX text, loaded once.
  }];
  let dependentDialects = ["::mlir::gpu::GPUDialect", "::mlir::NVVM::NVVMDialect"];
}

def ExpandGPUMathPass : Pass<"llm-expand-gpu-math"> {
  let summary = "Math ops of GPU kernels as arithmetic and LLVM intrinsics";
  let description = [{
    Rewrites the transcendental math ops of GPU kernels (exp, sin, cos,
    tanh, log, erf, ...) as MLIR's f32 polynomial approximations, so that
    they need no device library (libdevice comes with the CUDA toolkit,
    which neither llmc nor its users need). What has an instruction (sqrt,
    floor, fma, absolute value) is left to llm-libdevice-to-intrinsics.
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect", "::mlir::math::MathDialect",
    "::mlir::vector::VectorDialect", "::mlir::LLVM::LLVMDialect"
  ];
}

def LibdeviceToIntrinsicsPass : Pass<"llm-libdevice-to-intrinsics",
                                     "gpu::GPUModuleOp"> {
  let summary = "Replace calls to libdevice by LLVM intrinsics";
  let description = [{
    After `convert-gpu-to-nvvm`, which turns the remaining math ops (sqrt,
    floor, fabs, fma, ...) into calls to CUDA's libdevice (`__nv_sqrtf`):
    each such call becomes the LLVM intrinsic that the NVPTX backend selects
    to one instruction (`llvm.sqrt.f32` is `sqrt.rn.f32`), so the PTX needs
    no device library. A call to a libdevice function without such an
    intrinsic is an error that names it.
  }];
  let dependentDialects = ["::mlir::LLVM::LLVMDialect"];
}

def EmulateGPULaunchesPass : Pass<"llm-emulate-gpu-launches", "func::FuncOp"> {
  let summary = "Run GPU launches as host loops (for testing)";
  let description = [{
    Replaces every `gpu.launch` by loops over its blocks and threads that
    run its body in order, block and thread ids being the loop counters.
    Barriers split a block's threads: all of them run the code before a
    barrier before any runs the code after it, with `scf.for` and `scf.if`
    ops around barriers (block-wide bounds and conditions) kept at block
    level, values that cross a barrier kept in per-thread buffers (or
    computed again, for views), and workgroup memory one host buffer.
    Shuffles cannot be emulated (llm-distribute-to-gpu makes none for a
    target without warps).
    `llmc compile --emulate-gpu` uses it to run the GPU lowering's kernels
    on the CPU, so that tests compare their logits with the reference on
    machines without a GPU.
  }];
  let dependentDialects = ["::mlir::scf::SCFDialect"];
}

def LowerGPULaunchesPass : Pass<"llm-lower-gpu-launches", "ModuleOp"> {
  let summary = "GPU launches as calls into llmc's runtime";
  let description = [{
    Runs on the host module once the kernels are a `gpu.binary` and the host
    code is in the LLVM dialect: each `gpu.launch_func` becomes a call to the
    runtime's `llmc_gpu_launch(kernel, grid x/y/z, block x/y/z, shared
    bytes, params, count)`, its operands expanded as the kernels' calling
    convention expects (a memref as its descriptor's fields) and passed by
    address; the binary's PTX becomes the global `llmc_gpu_ptx` and the
    kernel names, in the order of their indices, `llmc_gpu_kernel_names`
    (each ended by a NUL byte; `llmc_gpu_kernel_count` of them). The module
    is loaded once by the runtime, not around every launch.
  }];
  let dependentDialects = ["::mlir::LLVM::LLVMDialect"];
}

#endif // LLMC_CODEGEN_PASSES_TD
