"""Second, independent implementation of the reference, for tests only.

`write DIR ...` writes a Hugging Face Llama directory (config.json and
model.safetensors) with numpy's seeded random weights; `logits DIR TOKENS OUT`
runs a line-by-line numpy port of transformers' LlamaForCausalLM forward pass
(rotate_half, apply_rotary_pos_emb, _compute_llama3_parameters, repeat_kv,
eager attention) in float64 and writes float32 logits [tokens, vocab].
It shares no code with llmc, not even the safetensors reader.
"""

import argparse
import json
import math
import os
import struct

import numpy as np


def write_model(args):
    head_dim = args.head_dim or args.hidden // args.heads
    config = {
        "architectures": ["LlamaForCausalLM"],
        "model_type": "llama",
        "hidden_act": "silu",
        "vocab_size": args.vocab,
        "hidden_size": args.hidden,
        "intermediate_size": args.inter,
        "num_hidden_layers": args.layers,
        "num_attention_heads": args.heads,
        "num_key_value_heads": args.kv_heads,
        "head_dim": head_dim,
        "max_position_embeddings": 4096,
        "rms_norm_eps": args.eps,
        "rope_theta": args.theta,
        "tie_word_embeddings": args.tied,
        "torch_dtype": {"F32": "float32", "BF16": "bfloat16",
                        "F16": "float16"}[args.dtype],
    }
    if args.llama3:
        factor, low, high, orig = args.llama3.split(",")
        config["rope_scaling"] = {
            "rope_type": "llama3", "factor": float(factor),
            "low_freq_factor": float(low), "high_freq_factor": float(high),
            "original_max_position_embeddings": int(orig)}

    rng = np.random.default_rng(args.seed)
    h, q, kv = args.hidden, args.heads * head_dim, args.kv_heads * head_dim
    shapes = [("model.embed_tokens.weight", (args.vocab, h))]
    for l in range(args.layers):
        p = "model.layers.%d." % l
        shapes += [(p + "input_layernorm.weight", (h,)),
                   (p + "self_attn.q_proj.weight", (q, h)),
                   (p + "self_attn.k_proj.weight", (kv, h)),
                   (p + "self_attn.v_proj.weight", (kv, h)),
                   (p + "self_attn.o_proj.weight", (h, q)),
                   (p + "post_attention_layernorm.weight", (h,)),
                   (p + "mlp.gate_proj.weight", (args.inter, h)),
                   (p + "mlp.up_proj.weight", (args.inter, h)),
                   (p + "mlp.down_proj.weight", (h, args.inter))]
    shapes.append(("model.norm.weight", (h,)))
    if not args.tied:
        shapes.append(("lm_head.weight", (args.vocab, h)))

    header, blobs, offset = {}, [], 0
    for name, shape in shapes:
        if len(shape) == 1:
            values = 1.0 + rng.normal(0.0, args.std / 4, shape)
        else:
            values = rng.normal(0.0, args.std, shape)
        values = values.astype("<f4")
        if args.dtype == "BF16":
            blob = (values.view("<u4") >> 16).astype("<u2").tobytes()
        elif args.dtype == "F16":
            blob = values.astype("<f2").tobytes()
        else:
            blob = values.tobytes()
        header[name] = {"dtype": args.dtype, "shape": list(shape),
                        "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)

    os.makedirs(args.dir, exist_ok=True)
    with open(os.path.join(args.dir, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    with open(os.path.join(args.dir, "model.safetensors"), "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def load_safetensors(path):
    with open(path, "rb") as f:
        size = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(size))
        data = f.read()
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        raw = data[begin:end]
        if info["dtype"] == "BF16":
            bits = np.frombuffer(raw, "<u2").astype(np.uint32) << 16
            values = bits.view(np.float32)
        else:
            values = np.frombuffer(raw, {"F32": "<f4", "F16": "<f2"}[info["dtype"]])
        tensors[name] = values.astype(np.float64).reshape(info["shape"])
    return tensors


def rotate_half(x):
    x1 = x[..., : x.shape[-1] // 2]
    x2 = x[..., x.shape[-1] // 2:]
    return np.concatenate((-x2, x1), axis=-1)


def compute_llama3_inv_freq(inv_freq, rope_scaling):
    factor = rope_scaling["factor"]
    low_freq_factor = rope_scaling["low_freq_factor"]
    high_freq_factor = rope_scaling["high_freq_factor"]
    old_context_len = rope_scaling["original_max_position_embeddings"]
    low_freq_wavelen = old_context_len / low_freq_factor
    high_freq_wavelen = old_context_len / high_freq_factor
    wavelen = 2 * math.pi / inv_freq
    inv_freq_llama = np.where(wavelen > low_freq_wavelen, inv_freq / factor,
                              inv_freq)
    smooth_factor = (old_context_len / wavelen - low_freq_factor) / (
        high_freq_factor - low_freq_factor)
    smoothed_inv_freq = ((1 - smooth_factor) * inv_freq_llama / factor
                         + smooth_factor * inv_freq_llama)
    is_medium_freq = ~(wavelen < high_freq_wavelen) * ~(wavelen > low_freq_wavelen)
    return np.where(is_medium_freq, smoothed_inv_freq, inv_freq_llama)


def rms_norm(x, weight, eps):
    variance = np.mean(x * x, axis=-1, keepdims=True)
    return weight * (x / np.sqrt(variance + eps))


def logits(args):
    c = json.load(open(os.path.join(args.dir, "config.json")))
    w = load_safetensors(os.path.join(args.dir, "model.safetensors"))
    tokens = [int(t) for t in args.tokens.split(",")]
    n, heads = len(tokens), c["num_attention_heads"]
    kv_heads = c.get("num_key_value_heads", heads)
    head_dim = c.get("head_dim", c["hidden_size"] // heads)
    eps = c["rms_norm_eps"]

    inv_freq = 1.0 / (c.get("rope_theta", 10000.0) **
                      (np.arange(0, head_dim, 2).astype(np.float64) / head_dim))
    scaling = c.get("rope_scaling")
    if scaling and scaling.get("rope_type", scaling.get("type")) == "llama3":
        inv_freq = compute_llama3_inv_freq(inv_freq, scaling)
    freqs = np.outer(np.arange(n, dtype=np.float64), inv_freq)
    emb = np.concatenate((freqs, freqs), axis=-1)
    cos, sin = np.cos(emb)[None], np.sin(emb)[None]

    x = w["model.embed_tokens.weight"][tokens]
    causal = np.triu(np.full((n, n), -np.inf), 1)
    for layer in range(c["num_hidden_layers"]):
        p = "model.layers.%d." % layer
        h = rms_norm(x, w[p + "input_layernorm.weight"], eps)

        def heads_of(proj, count):
            y = h @ w[p + "self_attn.%s_proj.weight" % proj].T
            return y.reshape(n, count, head_dim).transpose(1, 0, 2)

        q, k, v = heads_of("q", heads), heads_of("k", kv_heads), heads_of("v", kv_heads)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        n_rep = heads // kv_heads  # repeat_kv
        k = np.broadcast_to(k[:, None], (kv_heads, n_rep, n, head_dim)).reshape(heads, n, head_dim)
        v = np.broadcast_to(v[:, None], (kv_heads, n_rep, n, head_dim)).reshape(heads, n, head_dim)
        scores = q @ k.transpose(0, 2, 1) / math.sqrt(head_dim) + causal
        scores = np.exp(scores - scores.max(axis=-1, keepdims=True))
        scores /= scores.sum(axis=-1, keepdims=True)
        attn = (scores @ v).transpose(1, 0, 2).reshape(n, heads * head_dim)
        x = x + attn @ w[p + "self_attn.o_proj.weight"].T

        h = rms_norm(x, w[p + "post_attention_layernorm.weight"], eps)
        gate = h @ w[p + "mlp.gate_proj.weight"].T
        up = h @ w[p + "mlp.up_proj.weight"].T
        x = x + ((gate / (1.0 + np.exp(-gate))) * up) @ w[p + "mlp.down_proj.weight"].T

    x = rms_norm(x, w["model.norm.weight"], eps)
    head = w["model.embed_tokens.weight" if c.get("tie_word_embeddings")
             else "lm_head.weight"]
    (x @ head.T).astype("<f4").tofile(args.out)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    write = sub.add_parser("write")
    write.add_argument("dir")
    for name, kind, default in [("vocab", int, 300), ("hidden", int, 96),
                                ("inter", int, 200), ("layers", int, 2),
                                ("heads", int, 6), ("kv-heads", int, 2),
                                ("head-dim", int, 0), ("seed", int, 1),
                                ("std", float, 0.15), ("eps", float, 1e-5),
                                ("theta", float, 10000.0)]:
        write.add_argument("--" + name, type=kind, default=default)
    write.add_argument("--tied", action="store_true")
    write.add_argument("--llama3", help="factor,low,high,original_context")
    write.add_argument("--dtype", choices=["F32", "BF16", "F16"], default="F32")
    run = sub.add_parser("logits")
    run.add_argument("dir")
    run.add_argument("tokens")
    run.add_argument("out")
    args = parser.parse_args()
    write_model(args) if args.command == "write" else logits(args)


if __name__ == "__main__":
    main()
