"""Network bookkeeping: the parameter count, the compute per token and the key-value cache of a decoder-only
transformer, from its sizes.

The model (as the problem states it): pre-norm, decoder-only. Each of the `layers` blocks computes
x + Attn(LN(x)) and then x + MLP(LN(x)); the attention has four d x d projections (queries, keys, values and
the output), split over `heads` heads of d / heads dimensions each; the MLP is Linear(d, d_ff), an activation,
Linear(d_ff, d). Every layer norm has a gain and a bias (2 d); `bias` adds biases to the six linear maps of a
block only. A final layer norm follows the last block. Token embeddings (vocab x d) and learned position
embeddings (context x d) feed the first block; the output projection d -> vocab has no bias and, when
`tied_embeddings`, is the token embedding matrix itself (counted once: 0 parameters of its own).

Compute is counted in multiply-accumulates (MACs) of the matrix products of one token at the end of a full
context: per block 4 d^2 (projections) + 2 d d_ff (MLP) + 2 context d (scores against `context` keys and the
weighted sum of as many values), plus vocab d for the output projection (tied or not: the product is done).
The cache keeps a key and a value vector of d entries per block for every token of context: 2 layers d.

Every answer is a whole number, asked exactly. `check` builds the model's list of weight tensors by name and
shape and counts their entries, and counts the MACs by a loop over the operations of each layer and head.
"""

from __future__ import annotations

import math
from typing import Any, Mapping

from qbank.draws import choice, integer
from qbank.family import Answer, Family, Part, register
from qbank.grading import scoring_mistake
from qbank.params import ParamError, as_bool, as_int, require_keys
from qbank.precision import exact

WHOLE = exact(whole=True)
FIELDS = ("d_model", "heads", "d_ff", "layers", "vocab", "context", "bias", "tied_embeddings")
D_MODELS = (64, 128, 192, 256, 384, 512, 768, 1024)
HEAD_DIMS = (32, 64, 128)  # heads = d_model / head_dim
FF_FACTORS = (4, 4, 4, 3)  # d_ff = factor * d_model: 4 is the usual choice (2 would make the MLP as big as the attention)
VOCABS = (1000, 2000, 5000, 8000, 10000, 16000, 32000, 50000)
CONTEXTS = (128, 256, 512, 1024, 2048)
MAX_SIZE = 10**6  # a pinned size beyond this makes numbers no calculator shows in full


def sizes(params: Mapping[str, Any]) -> dict[str, int]:
    """The closed forms the solution writes out."""
    d, d_ff, n = params["d_model"], params["d_ff"], params["layers"]
    b = 1 if params["bias"] else 0
    attn = 4 * d * d + b * 4 * d
    mlp = 2 * d * d_ff + b * (d_ff + d)
    norm = 2 * 2 * d
    layer = attn + mlp + norm
    embedding = params["vocab"] * d + params["context"] * d
    head = 0 if params["tied_embeddings"] else params["vocab"] * d
    return {
        "head_dim": d // params["heads"],
        "attn_params": attn,
        "mlp_params": mlp,
        "norm_params": norm,
        "layer_params": layer,
        "embedding_params": embedding,
        "head_params": head,
        "total_params": n * layer + embedding + head + 2 * d,
        "macs_per_token": n * (4 * d * d + 2 * d * d_ff + 2 * params["context"] * d) + params["vocab"] * d,
        "kv_cache_values": 2 * n * d,
    }


# ---------------------------------------------------------------- mistakes a draw must tell from the answer


def _recount(params: Mapping[str, Any], attn: int | None = None, mlp: int | None = None, norm: int | None = None,
             final_norm: int | None = None, embedding: int | None = None, head: int | None = None) -> dict[str, int]:
    """The parameter answers with one or more of the pieces replaced, the totals carried through; the pieces a
    mistake leaves alone are not repeated (they are right by nature)."""
    right = sizes(params)
    d, n = params["d_model"], params["layers"]
    pieces = {
        "attn_params": attn, "mlp_params": mlp, "norm_params": norm,
        "embedding_params": embedding, "head_params": head,
    }
    got = {name: right[name] if value is None else value for name, value in pieces.items()}
    layer = got["attn_params"] + got["mlp_params"] + got["norm_params"]
    wrong: dict[str, int] = {name: value for name, value in pieces.items() if value is not None}
    if attn is not None or mlp is not None or norm is not None:
        wrong["layer_params"] = layer
    wrong["total_params"] = (n * layer + got["embedding_params"] + got["head_params"]
                             + (2 * d if final_norm is None else final_norm))
    return wrong


def _biases_left_out(p):
    d, d_ff = p["d_model"], p["d_ff"]
    return _recount(p, attn=4 * d * d, mlp=2 * d * d_ff) if p["bias"] else {}


def _biases_counted_without_them(p):
    d, d_ff = p["d_model"], p["d_ff"]
    return {} if p["bias"] else _recount(p, attn=4 * d * d + 4 * d, mlp=2 * d * d_ff + d_ff + d)


def _one_mlp_bias(p):
    d, d_ff = p["d_model"], p["d_ff"]
    return _recount(p, mlp=2 * d * d_ff + d_ff) if p["bias"] else {}


def _no_output_projection(p):
    d = p["d_model"]
    b = 1 if p["bias"] else 0
    return {**_recount(p, attn=3 * d * d + b * 3 * d),
            "macs_per_token": sizes(p)["macs_per_token"] - p["layers"] * d * d}


def _projections_per_head(p):
    d, h = p["d_model"], p["heads"]
    b = 1 if p["bias"] else 0
    return {**_recount(p, attn=h * (4 * d * d + b * 4 * d)),
            "macs_per_token": sizes(p)["macs_per_token"] + p["layers"] * (h - 1) * 4 * d * d}


def _gain_only_norms(p):
    d = p["d_model"]
    return _recount(p, norm=2 * d, final_norm=d)


def _final_norm_left_out(p):
    return {"total_params": sizes(p)["total_params"] - 2 * p["d_model"]}


def _positions_left_out(p):
    return _recount(p, embedding=p["vocab"] * p["d_model"])


def _tied_counted_twice(p):
    return _recount(p, head=p["vocab"] * p["d_model"]) if p["tied_embeddings"] else {}


def _untied_head_with_bias(p):
    return {} if p["tied_embeddings"] else _recount(p, head=p["vocab"] * p["d_model"] + p["vocab"])


def _macs_without_attention(p):
    return {"macs_per_token": sizes(p)["macs_per_token"] - 2 * p["layers"] * p["context"] * p["d_model"]}


def _macs_scores_only(p):
    return {"macs_per_token": sizes(p)["macs_per_token"] - p["layers"] * p["context"] * p["d_model"]}


def _macs_tied_head_skipped(p):
    return {"macs_per_token": sizes(p)["macs_per_token"] - p["vocab"] * p["d_model"]} if p["tied_embeddings"] else {}


def _macs_one_layer(p):
    d = p["d_model"]
    return {"macs_per_token": 4 * d * d + 2 * d * p["d_ff"] + 2 * p["context"] * d + p["vocab"] * d}


@register
class TransformerBookkeeping(Family):
    """Parameters, MACs per token and the KV cache of a small GPT-style decoder, counted by hand."""

    id = "transformer-bookkeeping"
    title = "Parameters, compute and KV cache of a decoder-only transformer"
    topic = "transformers"
    difficulty = 2
    answers = {
        "head_dim": Answer("integer", "dimensions per attention head, d_model / heads", precision=WHOLE,
                           symbol="d_h", label="head dimension"),
        "attn_params": Answer("integer", "parameters of one block's attention: the Q, K, V and output projections",
                              precision=WHOLE, symbol=r"P_{\mathrm{attn}}", label="attention parameters per block"),
        "mlp_params": Answer("integer", "parameters of one block's MLP: its two linear maps", precision=WHOLE,
                             symbol=r"P_{\mathrm{MLP}}", label="MLP parameters per block"),
        "norm_params": Answer("integer", "parameters of one block's two layer norms", precision=WHOLE,
                              symbol=r"P_{\mathrm{LN}}", label="layer-norm parameters per block"),
        "layer_params": Answer("integer", "parameters of one block", precision=WHOLE,
                               symbol=r"P_{\mathrm{block}}", label="parameters per block"),
        "embedding_params": Answer("integer", "token and learned position embeddings", precision=WHOLE,
                                   symbol=r"P_{\mathrm{emb}}", label="embedding parameters"),
        "head_params": Answer("integer", "the output projection's own parameters (0 when tied)", precision=WHOLE,
                              symbol=r"P_{\mathrm{out}}", label="output projection parameters"),
        "total_params": Answer("integer", "every parameter of the model, the final layer norm included",
                               precision=WHOLE, symbol=r"P_{\mathrm{total}}", label="total parameters"),
        "macs_per_token": Answer("integer", "multiply-accumulates for one token at the end of a full context",
                                 precision=WHOLE, symbol=r"\mathrm{MACs}", label="MACs per token"),
        "kv_cache_values": Answer("integer", "values the KV cache holds per token of context", precision=WHOLE,
                                  symbol=r"C_{\mathrm{KV}}", label="KV-cache values per token"),
    }
    # Every mistake here changes a count by a whole term, so no draw lets one score by chance: a mistake that
    # cannot happen in a structure (biases left out of a model without biases) gives nothing. `heads` >= 2
    # keeps "a d x d projection per head" visible.
    mistake_unit = "number"  # every answer is one count
    mistakes = {
        "biases left out of the linear maps": _biases_left_out,
        "biases counted for linear maps that have none": _biases_counted_without_them,
        "one bias vector for the MLP instead of two": _one_mlp_bias,
        "the attention's output projection forgotten (3 d^2)": _no_output_projection,
        "a d x d projection per head (heads times the parameters)": _projections_per_head,
        "layer norms with a gain only (d instead of 2d)": _gain_only_norms,
        "the final layer norm forgotten": _final_norm_left_out,
        "the position embeddings forgotten": _positions_left_out,
        "tied weights counted twice": _tied_counted_twice,
        "a bias on the untied output projection": _untied_head_with_bias,
        "MACs without the attention over the context (2 context d)": _macs_without_attention,
        "MACs with the scores only (the weighted sum of values forgotten)": _macs_scores_only,
        "MACs without the output projection when weights are tied": _macs_tied_head_skipped,
        "MACs of one block only (not times the layers)": _macs_one_layer,
        "KV cache with keys only (layers d)": lambda p: {"kv_cache_values": p["layers"] * p["d_model"]},
        "KV cache with queries too (3 layers d)": lambda p: {"kv_cache_values": 3 * p["layers"] * p["d_model"]},
        "KV cache per head of d entries (2 layers heads d)": lambda p: {
            "kv_cache_values": 2 * p["layers"] * p["heads"] * p["d_model"]},
    }
    # The sizes only scale the numbers: what changes the work is whether there are biases to add and whether
    # the output projection has weights of its own.
    structure = ("bias", "tied_embeddings")
    asks = ("transformer-parameter-count", "transformer-compute-per-token", "kv-cache-size")
    reveals = ("transformer-block-layout",)

    def asks_of(self, params):
        # with tied weights, parts (c) and (d) ask what tying saves (the parameters) and what it does not (the MACs)
        return (*self.asks, "weight-tying-cost") if params["tied_embeddings"] else self.asks

    def sample(self, rng):
        d = choice(rng, D_MODELS)
        head_dim = choice(rng, [h for h in HEAD_DIMS if d // h >= 2])
        return {
            "d_model": d,
            "heads": d // head_dim,
            "d_ff": choice(rng, FF_FACTORS) * d,
            "layers": integer(rng, 2, 24),
            "vocab": choice(rng, VOCABS),
            "context": choice(rng, CONTEXTS),
            "bias": bool(choice(rng, (True, False))),
            "tied_embeddings": bool(choice(rng, (True, False))),
        }

    def validate(self, params):
        require_keys(params, FIELDS)
        d = as_int(params["d_model"], "d_model", 2, MAX_SIZE)
        heads = as_int(params["heads"], "heads", 1, d)
        if d % heads:
            raise ParamError("heads", f"a divisor of d_model = {d} (each head gets d_model / heads dimensions)", heads)
        return {
            "d_model": d,
            "heads": heads,
            "d_ff": as_int(params["d_ff"], "d_ff", 1, MAX_SIZE),
            "layers": as_int(params["layers"], "layers", 1, 1000),
            "vocab": as_int(params["vocab"], "vocab", 2, MAX_SIZE),
            "context": as_int(params["context"], "context", 1, MAX_SIZE),
            "bias": as_bool(params["bias"], "bias"),
            "tied_embeddings": as_bool(params["tied_embeddings"], "tied_embeddings"),
        }

    def degenerate(self, params):
        if params["heads"] < 2:
            return "a single head: splitting the projections over heads would not show"
        if params["layers"] < 2:
            return "a single block: multiplying by the number of layers would not show"
        return scoring_mistake(self, params, self.solve(params))

    def solve(self, params):
        return sizes(params)

    def check(self, params, answers):
        """Brute force: the model's weight tensors as (name, shape), counted entry by entry per group; the MACs
        of one token by a loop over every layer's operations and heads."""
        d, h, d_ff, n = params["d_model"], params["heads"], params["d_ff"], params["layers"]
        vocab, context = params["vocab"], params["context"]
        tensors: list[tuple[str, tuple[int, ...]]] = [("tok_emb", (vocab, d)), ("pos_emb", (context, d))]
        for layer in range(n):
            at = f"block{layer}"
            tensors += [(f"{at}.ln1.gain", (d,)), (f"{at}.ln1.bias", (d,))]
            for proj in ("q", "k", "v", "o"):
                tensors.append((f"{at}.attn.{proj}.weight", (d, d)))
                if params["bias"]:
                    tensors.append((f"{at}.attn.{proj}.bias", (d,)))
            tensors += [(f"{at}.ln2.gain", (d,)), (f"{at}.ln2.bias", (d,))]
            tensors.append((f"{at}.mlp.up.weight", (d_ff, d)))
            if params["bias"]:
                tensors.append((f"{at}.mlp.up.bias", (d_ff,)))
            tensors.append((f"{at}.mlp.down.weight", (d, d_ff)))
            if params["bias"]:
                tensors.append((f"{at}.mlp.down.bias", (d,)))
        tensors += [("ln_f.gain", (d,)), ("ln_f.bias", (d,))]
        if not params["tied_embeddings"]:
            tensors.append(("lm_head.weight", (vocab, d)))

        def count(prefix: str, part: str = "") -> int:
            return sum(math.prod(shape) for name, shape in tensors if name.startswith(prefix) and part in name)

        want = {
            "attn_params": count("block0.", ".attn."),
            "mlp_params": count("block0.", ".mlp."),
            "norm_params": count("block0.", ".ln"),
            "layer_params": count("block0."),
            "embedding_params": count("tok_emb") + count("pos_emb"),
            "head_params": count("lm_head"),
            "total_params": count(""),
        }
        assert all(count(f"block{k}.") == want["layer_params"] for k in range(n)), "blocks differ in size"

        # One token at the end of a full context: every (m x k) by (k x n) product costs m k n MACs.
        macs = 0
        cache = 0
        for _ in range(n):
            for _proj in ("q", "k", "v"):
                macs += 1 * d * d  # the token's row times a d x d matrix
            cache += 2 * d  # its key and value are kept for later tokens
            head_dim = d // h
            for _head in range(h):
                macs += context * head_dim  # q . k_j for every key j in the context
                macs += context * head_dim  # sum_j a_j v_j
            macs += d * d  # the output projection of the concatenated heads
            macs += d * d_ff + d_ff * d  # up and down projections of the MLP
        macs += d * vocab  # logits over the vocabulary (tied weights are multiplied all the same)
        want.update({"head_dim": head_dim, "macs_per_token": macs, "kv_cache_values": cache})
        assert h * want["head_dim"] == d, "the heads do not split d_model"
        for name, value in want.items():
            got = answers[name]
            assert isinstance(got, int) and not isinstance(got, bool), f"{name}: not an integer: {got!r}"
            assert got == value, f"{name} = {got}, counting the model's tensors and operations gives {value}"

    def parts(self, params):
        return (
            Part(("head_dim",), 1),
            Part(("attn_params", "mlp_params", "norm_params", "layer_params"), 4),
            Part(("embedding_params", "head_params", "total_params"), 3),
            Part(("macs_per_token",), 3),
            Part(("kv_cache_values",), 1),
        )

    def minutes(self, params):
        # Reading the model (1.5 min), then per part: the head size (0.5); four products and two sums for a
        # block's parameters (3), one more for the biases (0.5); the embeddings, output projection and the
        # total (2), the output projection's own product when untied (0.5); the MACs term by term (2.5); the
        # cache (1).
        return 1.5 + 0.5 + 3 + (0.5 if params["bias"] else 0) + 2 + (0 if params["tied_embeddings"] else 0.5) + 2.5 + 1

    def context(self, params, answers):
        d, d_ff, n = params["d_model"], params["d_ff"], params["layers"]
        return {
            "d2": d * d,
            "d_dff": d * d_ff,
            "ctx_d": params["context"] * d,
            "vocab_d": params["vocab"] * d,
            "per_layer_macs": 4 * d * d + 2 * d * d_ff + 2 * params["context"] * d,
            "blocks_params": n * answers["layer_params"],
        }
