// RUN: llm-opt %s --split-input-file --verify-diagnostics

// expected-error @+1 {{type must be a static rank-1 or rank-2 tensor}}
llm.param @w : tensor<?x32xf32> {layers = 0 : i64, sources = ["w"]}

// -----

// expected-error @+1 {{type must be a static rank-1 or rank-2 tensor}}
llm.param @w : tensor<2x4x8xf32> {layers = 0 : i64, sources = ["w"]}

// -----

// expected-error @+1 {{element type must be f32, bf16 or f16}}
llm.param @w : tensor<4x8xi8> {layers = 0 : i64, sources = ["w"]}

// -----

// expected-error @+1 {{element type must be f32, bf16 or f16}}
llm.param @w : tensor<4x8xf64> {layers = 0 : i64, sources = ["w"]}

// -----

// expected-error @+1 {{needs at least one source tensor}}
llm.param @w : tensor<4x8xf32> {layers = 0 : i64, sources = []}

// -----

// expected-error @+1 {{a blocked layout needs a matrix}}
llm.param @g : tensor<8xf32> {layers = 0 : i64, sources = ["g"], llm.layout = #llm.packed_layout<block = 8>}

// -----

// expected-error @+1 {{layers must be >= 0}}
llm.param @w : tensor<4x8xf32> {layers = -1 : i64, sources = ["w"]}

// -----

func.func @weight_missing_param() -> tensor<4x8xf32> {
  // expected-error @+1 {{'missing' does not reference an llm.param}}
  %0 = llm.weight @missing : tensor<4x8xf32>
  return %0 : tensor<4x8xf32>
}

// -----

func.func private @not_a_param()

func.func @weight_of_function() -> tensor<4x8xf32> {
  // expected-error @+1 {{'not_a_param' does not reference an llm.param}}
  %0 = llm.weight @not_a_param : tensor<4x8xf32>
  return %0 : tensor<4x8xf32>
}

// -----

llm.param @w : tensor<4x8xbf16> {layers = 0 : i64, sources = ["w"]}

func.func @weight_type_mismatch() -> tensor<4x8xf32> {
  // expected-error @+1 {{type 'tensor<4x8xf32>' differs from the parameter's 'tensor<4x8xbf16>'}}
  %0 = llm.weight @w : tensor<4x8xf32>
  return %0 : tensor<4x8xf32>
}

// -----

llm.param @w : tensor<4x8xf32> {layers = 2 : i64, sources = ["layers.{layer}.w"]}

func.func @weight_missing_layer() -> tensor<4x8xf32> {
  // expected-error @+1 {{a layer index is required exactly when the parameter is stacked over layers}}
  %0 = llm.weight @w : tensor<4x8xf32>
  return %0 : tensor<4x8xf32>
}

// -----

llm.param @w : tensor<4x8xf32> {layers = 0 : i64, sources = ["w"]}

func.func @weight_extra_layer(%layer: index) -> tensor<4x8xf32> {
  // expected-error @+1 {{a layer index is required exactly when the parameter is stacked over layers}}
  %0 = llm.weight @w[%layer] : tensor<4x8xf32>
  return %0 : tensor<4x8xf32>
}

// -----

func.func @activation_static_rows(%x: tensor<4x8xf32>, %w: tensor<16x8xf32>) -> tensor<4x16xf32> {
  // expected-error @+1 {{input must be a tensor<?xNxf32> with static N, got 'tensor<4x8xf32>'}}
  %0 = llm.linear %x, %w : (tensor<4x8xf32>, tensor<16x8xf32>) -> tensor<4x16xf32>
  return %0 : tensor<4x16xf32>
}

// -----

func.func @activation_dynamic_width(%x: tensor<?x?xf32>) -> tensor<?x?xf32> {
  // expected-error @+1 {{input must be a tensor<?xNxf32> with static N, got 'tensor<?x?xf32>'}}
  %0 = llm.rms_inv %x {eps = 1.0e-05 : f64} : (tensor<?x?xf32>) -> tensor<?xf32>
  return %x : tensor<?x?xf32>
}

// -----

func.func @embedding_table_rank(%ids: tensor<?xi32>, %table: tensor<64xf32>) -> tensor<?x32xf32> {
  // expected-error @+1 {{table must be [vocab, hidden]}}
  %0 = llm.embedding %ids, %table : (tensor<?xi32>, tensor<64xf32>) -> tensor<?x32xf32>
  return %0 : tensor<?x32xf32>
}

// -----

func.func @embedding_width(%ids: tensor<?xi32>, %table: tensor<64x32xbf16>) -> tensor<?x16xf32> {
  // expected-error @+1 {{result width must equal the table's hidden size}}
  %0 = llm.embedding %ids, %table : (tensor<?xi32>, tensor<64x32xbf16>) -> tensor<?x16xf32>
  return %0 : tensor<?x16xf32>
}

// -----

func.func @rms_norm_weight_width(%x: tensor<?x32xf32>, %g: tensor<16xf32>) -> tensor<?x32xf32> {
  // expected-error @+1 {{weight must be a vector of the input's width}}
  %0 = llm.rms_norm %x, %g {eps = 1.0e-05 : f64} : (tensor<?x32xf32>, tensor<16xf32>) -> tensor<?x32xf32>
  return %0 : tensor<?x32xf32>
}

// -----

func.func @rms_norm_weight_rank(%x: tensor<?x32xf32>, %g: tensor<1x32xf32>) -> tensor<?x32xf32> {
  // expected-error @+1 {{weight must be a vector of the input's width}}
  %0 = llm.rms_norm %x, %g {eps = 1.0e-05 : f64} : (tensor<?x32xf32>, tensor<1x32xf32>) -> tensor<?x32xf32>
  return %0 : tensor<?x32xf32>
}

// -----

func.func @rms_norm_result(%x: tensor<?x32xf32>, %g: tensor<32xf32>) -> tensor<?x16xf32> {
  // expected-error @+1 {{result type must equal the input type}}
  %0 = llm.rms_norm %x, %g {eps = 1.0e-05 : f64} : (tensor<?x32xf32>, tensor<32xf32>) -> tensor<?x16xf32>
  return %0 : tensor<?x16xf32>
}

// -----

func.func @rms_norm_eps(%x: tensor<?x32xf32>, %g: tensor<32xf32>) -> tensor<?x32xf32> {
  // expected-error @+1 {{eps must be positive}}
  %0 = llm.rms_norm %x, %g {eps = 0.0 : f64} : (tensor<?x32xf32>, tensor<32xf32>) -> tensor<?x32xf32>
  return %0 : tensor<?x32xf32>
}

// -----

func.func @rms_inv_result(%x: tensor<?x32xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{result must be tensor<?xf32>}}
  %0 = llm.rms_inv %x {eps = 1.0e-05 : f64} : (tensor<?x32xf32>) -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

func.func @rms_inv_eps(%x: tensor<?x32xf32>) -> tensor<?xf32> {
  // expected-error @+1 {{eps must be positive}}
  %0 = llm.rms_inv %x {eps = -1.0 : f64} : (tensor<?x32xf32>) -> tensor<?xf32>
  return %0 : tensor<?xf32>
}

// -----

func.func @linear_weight_rank(%x: tensor<?x32xf32>, %w: tensor<32xf32>) -> tensor<?x32xf32> {
  // expected-error @+1 {{weight must be a matrix [out, in]}}
  %0 = llm.linear %x, %w : (tensor<?x32xf32>, tensor<32xf32>) -> tensor<?x32xf32>
  return %0 : tensor<?x32xf32>
}

// -----

func.func @linear_input_width(%x: tensor<?x32xf32>, %w: tensor<48x16xbf16>) -> tensor<?x48xf32> {
  // expected-error @+1 {{weight has 16 input columns but the input has 32}}
  %0 = llm.linear %x, %w : (tensor<?x32xf32>, tensor<48x16xbf16>) -> tensor<?x48xf32>
  return %0 : tensor<?x48xf32>
}

// -----

func.func @linear_output_width(%x: tensor<?x32xf32>, %w: tensor<48x32xbf16>) -> tensor<?x64xf32> {
  // expected-error @+1 {{weight has 48 output rows but the result has 64 columns}}
  %0 = llm.linear %x, %w : (tensor<?x32xf32>, tensor<48x32xbf16>) -> tensor<?x64xf32>
  return %0 : tensor<?x64xf32>
}

// -----

func.func @linear_row_scale(%x: tensor<?x32xf32>, %w: tensor<48x32xbf16>, %s: tensor<4x4xf32>) -> tensor<?x48xf32> {
  // expected-error @+1 {{row scale must be a vector}}
  %0 = llm.linear %x, %w scale %s : (tensor<?x32xf32>, tensor<48x32xbf16>, tensor<4x4xf32>) -> tensor<?x48xf32>
  return %0 : tensor<?x48xf32>
}

// -----

func.func @slice_past_end(%x: tensor<?x48xf32>) -> tensor<?x32xf32> {
  // expected-error @+1 {{columns [32, 64) exceed the input's 48}}
  %0 = llm.slice %x[32] : (tensor<?x48xf32>) -> tensor<?x32xf32>
  return %0 : tensor<?x32xf32>
}

// -----

func.func @slice_negative(%x: tensor<?x48xf32>) -> tensor<?x16xf32> {
  // expected-error @+1 {{columns [-1, 15) exceed the input's 48}}
  %0 = llm.slice %x[-1] : (tensor<?x48xf32>) -> tensor<?x16xf32>
  return %0 : tensor<?x16xf32>
}

// -----

func.func @rope_odd_head_dim(%x: tensor<?x60xf32>, %start: index) -> tensor<?x60xf32> {
  // expected-error @+1 {{head_dim must be positive and even}}
  %0 = llm.rope %x, %start {head_dim = 15 : i64, theta = 10000.0 : f64} : (tensor<?x60xf32>, index) -> tensor<?x60xf32>
  return %0 : tensor<?x60xf32>
}

// -----

func.func @rope_zero_head_dim(%x: tensor<?x64xf32>, %start: index) -> tensor<?x64xf32> {
  // expected-error @+1 {{head_dim must be positive and even}}
  %0 = llm.rope %x, %start {head_dim = 0 : i64, theta = 10000.0 : f64} : (tensor<?x64xf32>, index) -> tensor<?x64xf32>
  return %0 : tensor<?x64xf32>
}

// -----

func.func @rope_width(%x: tensor<?x48xf32>, %start: index) -> tensor<?x48xf32> {
  // expected-error @+1 {{input width must be a multiple of head_dim}}
  %0 = llm.rope %x, %start {head_dim = 32 : i64, theta = 10000.0 : f64} : (tensor<?x48xf32>, index) -> tensor<?x48xf32>
  return %0 : tensor<?x48xf32>
}

// -----

func.func @rope_result(%x: tensor<?x64xf32>, %start: index) -> tensor<?x32xf32> {
  // expected-error @+1 {{result type must equal the input type}}
  %0 = llm.rope %x, %start {head_dim = 32 : i64, theta = 10000.0 : f64} : (tensor<?x64xf32>, index) -> tensor<?x32xf32>
  return %0 : tensor<?x32xf32>
}

// -----

func.func @rope_partial_scaling(%x: tensor<?x64xf32>, %start: index) -> tensor<?x64xf32> {
  // expected-error @+1 {{llama3 scaling needs scaling_factor, low_freq_factor, high_freq_factor and original_max_positions together}}
  %0 = llm.rope %x, %start {head_dim = 32 : i64, theta = 500000.0 : f64, scaling_factor = 8.0 : f64, low_freq_factor = 1.0 : f64, high_freq_factor = 4.0 : f64} : (tensor<?x64xf32>, index) -> tensor<?x64xf32>
  return %0 : tensor<?x64xf32>
}

// -----

func.func @rope_scaling_without_factor(%x: tensor<?x64xf32>, %start: index) -> tensor<?x64xf32> {
  // expected-error @+1 {{llama3 scaling needs scaling_factor, low_freq_factor, high_freq_factor and original_max_positions together}}
  %0 = llm.rope %x, %start {head_dim = 32 : i64, theta = 500000.0 : f64, original_max_positions = 8192 : i64} : (tensor<?x64xf32>, index) -> tensor<?x64xf32>
  return %0 : tensor<?x64xf32>
}

// -----

func.func @rope_equal_freq_factors(%x: tensor<?x64xf32>, %start: index) -> tensor<?x64xf32> {
  // expected-error @+1 {{low_freq_factor and high_freq_factor must differ}}
  %0 = llm.rope %x, %start {head_dim = 32 : i64, theta = 500000.0 : f64, scaling_factor = 8.0 : f64, low_freq_factor = 2.0 : f64, high_freq_factor = 2.0 : f64, original_max_positions = 8192 : i64} : (tensor<?x64xf32>, index) -> tensor<?x64xf32>
  return %0 : tensor<?x64xf32>
}

// -----

func.func @attention_heads_multiple(%q: tensor<?x48xf32>, %k: tensor<?x32xf32>, %v: tensor<?x32xf32>, %cache: !llm.kv_cache, %layer: index, %start: index) -> tensor<?x48xf32> {
  // expected-error @+1 {{num_heads (3) must be a multiple of num_kv_heads (2)}}
  %0 = llm.attention %q, %k, %v, %cache[%layer] at %start {num_heads = 3 : i64, num_kv_heads = 2 : i64, head_dim = 16 : i64} : (tensor<?x48xf32>, tensor<?x32xf32>, tensor<?x32xf32>, !llm.kv_cache, index, index) -> tensor<?x48xf32>
  return %0 : tensor<?x48xf32>
}

// -----

func.func @attention_positive(%q: tensor<?x64xf32>, %k: tensor<?x32xf32>, %v: tensor<?x32xf32>, %cache: !llm.kv_cache, %layer: index, %start: index) -> tensor<?x64xf32> {
  // expected-error @+1 {{head counts and head_dim must be positive}}
  %0 = llm.attention %q, %k, %v, %cache[%layer] at %start {num_heads = 4 : i64, num_kv_heads = 0 : i64, head_dim = 16 : i64} : (tensor<?x64xf32>, tensor<?x32xf32>, tensor<?x32xf32>, !llm.kv_cache, index, index) -> tensor<?x64xf32>
  return %0 : tensor<?x64xf32>
}

// -----

func.func @attention_query_width(%q: tensor<?x48xf32>, %k: tensor<?x32xf32>, %v: tensor<?x32xf32>, %cache: !llm.kv_cache, %layer: index, %start: index) -> tensor<?x48xf32> {
  // expected-error @+1 {{query width must be num_heads * head_dim}}
  %0 = llm.attention %q, %k, %v, %cache[%layer] at %start {num_heads = 4 : i64, num_kv_heads = 2 : i64, head_dim = 16 : i64} : (tensor<?x48xf32>, tensor<?x32xf32>, tensor<?x32xf32>, !llm.kv_cache, index, index) -> tensor<?x48xf32>
  return %0 : tensor<?x48xf32>
}

// -----

func.func @attention_kv_width(%q: tensor<?x64xf32>, %k: tensor<?x32xf32>, %v: tensor<?x64xf32>, %cache: !llm.kv_cache, %layer: index, %start: index) -> tensor<?x64xf32> {
  // expected-error @+1 {{key and value width must be num_kv_heads * head_dim}}
  %0 = llm.attention %q, %k, %v, %cache[%layer] at %start {num_heads = 4 : i64, num_kv_heads = 2 : i64, head_dim = 16 : i64} : (tensor<?x64xf32>, tensor<?x32xf32>, tensor<?x64xf32>, !llm.kv_cache, index, index) -> tensor<?x64xf32>
  return %0 : tensor<?x64xf32>
}

// -----

func.func @attention_result(%q: tensor<?x64xf32>, %k: tensor<?x32xf32>, %v: tensor<?x32xf32>, %cache: !llm.kv_cache, %layer: index, %start: index) -> tensor<?x32xf32> {
  // expected-error @+1 {{result type must equal the query type}}
  %0 = llm.attention %q, %k, %v, %cache[%layer] at %start {num_heads = 4 : i64, num_kv_heads = 2 : i64, head_dim = 16 : i64} : (tensor<?x64xf32>, tensor<?x32xf32>, tensor<?x32xf32>, !llm.kv_cache, index, index) -> tensor<?x32xf32>
  return %0 : tensor<?x32xf32>
}

// -----

func.func @swiglu_width(%x: tensor<?x64xf32>) -> tensor<?x64xf32> {
  // expected-error @+1 {{input must have twice the result's columns}}
  %0 = llm.swiglu %x : (tensor<?x64xf32>) -> tensor<?x64xf32>
  return %0 : tensor<?x64xf32>
}

// -----

func.func @add_types(%a: tensor<?x32xf32>, %b: tensor<?x16xf32>) -> tensor<?x32xf32> {
  // expected-error @+1 {{requires the same type for all operands and results}}
  %0 = "llm.add"(%a, %b) : (tensor<?x32xf32>, tensor<?x16xf32>) -> tensor<?x32xf32>
  return %0 : tensor<?x32xf32>
}

// -----

func.func @linear_f16_activation(%x: tensor<?x32xf16>, %w: tensor<48x32xf16>) -> tensor<?x48xf32> {
  // expected-error @+1 {{operand #0 must be ranked tensor of 32-bit float values}}
  %0 = llm.linear %x, %w : (tensor<?x32xf16>, tensor<48x32xf16>) -> tensor<?x48xf32>
  return %0 : tensor<?x48xf32>
}

// -----

// expected-error @+1 {{only a quantized parameter (group) is asymmetric}}
llm.param @w : tensor<4x64xf32> {asymmetric, layers = 0 : i64, sources = ["w"]}

// -----

// expected-error @+1 {{offsets_of must be [bits (4, 6 or 8), group]}}
llm.param @w : tensor<4x2xf16> {layers = 0 : i64, offsets_of = array<i64: 3, 32>, sources = ["w"]}

// -----

// expected-error @+1 {{group offsets (offsets_of) must be an f16 matrix}}
llm.param @w : tensor<4x2xf32> {layers = 0 : i64, offsets_of = array<i64: 4, 32>, sources = ["w"]}

// -----

func.func @group_sum_width(%x: tensor<?x48xf32>) -> tensor<?x2xf32> {
  // expected-error @+1 {{group 32 must divide the input's 48 columns}}
  %0 = llm.group_sum %x {group = 32 : i64} : (tensor<?x48xf32>) -> tensor<?x2xf32>
  return %0 : tensor<?x2xf32>
}

// -----

func.func @group_sum_result(%x: tensor<?x64xf32>) -> tensor<?x3xf32> {
  // expected-error @+1 {{result must have 2 columns, one per group}}
  %0 = llm.group_sum %x {group = 32 : i64} : (tensor<?x64xf32>) -> tensor<?x3xf32>
  return %0 : tensor<?x3xf32>
}

// -----

func.func @linear_offsets(%x: tensor<?x64xf32>, %w: tensor<32x64xi8>, %o: tensor<32x3xf16>) -> tensor<?x32xf32> {
  // expected-error @+1 {{offsets must be [32, groups] with the groups dividing the 64 input columns, got 'tensor<32x3xf16>'}}
  %0 = llm.linear %x, %w offsets %o : (tensor<?x64xf32>, tensor<32x64xi8>, tensor<32x3xf16>) -> tensor<?x32xf32>
  return %0 : tensor<?x32xf32>
}

// -----

func.func @embedding_offsets(%ids: tensor<?xi32>, %t: tensor<32x64xi8>, %o: tensor<16x2xf16>) -> tensor<?x64xf32> {
  // expected-error @+1 {{offsets must be [32, groups] with the groups dividing the 64 columns, got 'tensor<16x2xf16>'}}
  %0 = llm.embedding %ids, %t offsets %o : (tensor<?xi32>, tensor<32x64xi8>, tensor<16x2xf16>) -> tensor<?x64xf32>
  return %0 : tensor<?x64xf32>
}

// -----

// expected-error @+1 {{layer_list must name exactly `layers` layers}}
llm.param @w : tensor<4x64xf32> {layers = 3 : i64, layer_list = array<i64: 0, 2>, sources = ["w.{layer}"]}

// -----

// expected-error @+1 {{layer_list must be ascending layer indices}}
llm.param @w : tensor<4x64xf32> {layers = 2 : i64, layer_list = array<i64: 2, 2>, sources = ["w.{layer}"]}

// -----

// expected-error @+1 {{layer_list must be ascending layer indices}}
llm.param @w : tensor<4x64xf32> {layers = 2 : i64, layer_list = array<i64: -1, 2>, sources = ["w.{layer}"]}
