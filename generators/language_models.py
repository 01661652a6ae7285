"""Language-model families (issue 19): the perplexity of a bigram model on one sentence.

lm-perplexity. Conventions (the JSON contract): `vocab` holds 3 or 4 words; `table[prev][next]` is the
bigram probability P(next | prev), prev over the words and `<s>`, next over the words and `</s>` (each row
sums to 1); `sentence` holds 3 to 5 words of the vocabulary. The sentence is scored as
`<s> w_1 ... w_n </s>`: n + 1 predicted tokens (the n words and `</s>`; `<s>` is given, never predicted).
Natural logarithm; perplexity = exp(NLL per token); bits per token = NLL per token / ln 2.

Precision: the token probabilities are read from the table, exactly; the log-likelihood and NLL per token
to 4 decimal places, the perplexity to 3 (it lies between 1 and 20), bits per token to 4. The problem asks
to carry unrounded values from one step to the next, so no answer needs an allowance.

Fair exams: the structure is the vocabulary's size and the sentence's length; every draw of one structure
takes the same steps (n + 1 look-ups and logarithms, a sum, a division, an exponential, a division by
ln 2). `degenerate` refuses a draw on which a listed mistake scores (`scoring_mistake`).
"""

from __future__ import annotations

import math
from typing import Any, Mapping

from qbank.checks import close, close_all
from qbank.draws import choice, integer, shuffled
from qbank.family import Answer, Family, Part, register
from qbank.grading import scoring_mistake
from qbank.params import ParamError, as_decimal, as_int, require_keys
from qbank.precision import decimals, exact

BOS, EOS = "<s>", "</s>"
WORDS = ("the", "a", "cat", "dog", "sat", "ran", "big", "red", "fox", "mat", "saw", "ate")
UNIT = 0.05  # table probabilities are multiples of this
LOOKUP_MINUTES = 0.25  # read one probability from the table, written down
CALL_MINUTES = 0.5  # one logarithm or exponential on a calculator, written down
READ_MINUTES = 1.5  # the table takes a while to read

PPL_FIELDS = ("vocab", "table", "sentence")


def _tokens(params: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The (prev, next) pairs scored: <s> w_1, w_1 w_2, ..., w_n </s>."""
    words = [BOS, *params["sentence"], EOS]
    return list(zip(words[:-1], words[1:]))


def _probs(params: Mapping[str, Any]) -> list[float]:
    return [params["table"][prev][nxt] for prev, nxt in _tokens(params)]


def _loglik(probs: list[float]) -> float:
    return math.fsum(math.log(p) for p in probs)


def _scores(loglik: float, count: int) -> dict[str, float]:
    """NLL per token, perplexity and bits per token of a log-likelihood over `count` tokens."""
    nll = -loglik / count
    return {"nll_per_token": nll, "perplexity": math.exp(nll), "bits_per_token": nll / math.log(2)}


def _without_end(params: Mapping[str, Any]) -> dict[str, Any]:
    """`</s>` left out altogether: its probability out of the product, n tokens instead of n + 1."""
    probs = _probs(params)[:-1]
    loglik = _loglik(probs)
    return {"log_likelihood": loglik, **_scores(loglik, len(probs))}


def _without_start_word(params: Mapping[str, Any]) -> dict[str, Any]:
    """The first word not scored (no <s> context): its probability out of the product and of the count."""
    probs = _probs(params)[1:]
    loglik = _loglik(probs)
    return {"log_likelihood": loglik, **_scores(loglik, len(probs))}


def _start_counted(params: Mapping[str, Any]) -> dict[str, Any]:
    """The right log-likelihood divided by n + 2 tokens (<s> counted as a token too)."""
    probs = _probs(params)
    return _scores(_loglik(probs), len(probs) + 1)


def _words_counted(params: Mapping[str, Any]) -> dict[str, Any]:
    """The right log-likelihood (with </s>) divided by the n words only."""
    probs = _probs(params)
    return _scores(_loglik(probs), len(probs) - 1)


def _transposed(params: Mapping[str, Any]) -> dict[str, Any]:
    """P(prev | next) read for P(next | prev) where both are words (the table read by column)."""
    table = params["table"]
    return {"token_probs": [table[nxt][prev] if prev != BOS and nxt != EOS else table[prev][nxt]
                            for prev, nxt in _tokens(params)]}


def _arithmetic_mean(params: Mapping[str, Any]) -> dict[str, Any]:
    """Perplexity as 1 / (arithmetic mean of the token probabilities), not the geometric mean."""
    probs = _probs(params)
    return {"perplexity": len(probs) / math.fsum(probs)}


@register
class LmPerplexity(Family):
    id = "lm-perplexity"
    title = "The log-likelihood, perplexity and bits per token of a sentence under a bigram model"
    topic = "language-models"
    difficulty = 2
    answers = {
        "token_probs": Answer("vector", "P(token | previous token) for each word of the sentence and for </s>",
                              precision=exact(), symbol=r"P(w_t \mid w_{t-1})", label="P(token | previous)",
                              index=("token {}",)),
        "log_likelihood": Answer("number", "the natural log-likelihood ln P(sentence) = sum_t ln P(w_t | w_{t-1})",
                                 precision=decimals(4), symbol=r"\ln P", label="ln P(sentence)"),
        "nll_per_token": Answer("number", "the negative log-likelihood per predicted token, in nats",
                                precision=decimals(4), symbol=r"\bar\ell", label="NLL per token"),
        "perplexity": Answer("number", "the perplexity exp(NLL per token)", precision=decimals(3),
                             symbol=r"\mathrm{PPL}", label="perplexity"),
        "bits_per_token": Answer("number", "the NLL per token in bits", precision=decimals(4),
                                 symbol=r"\mathrm{bpt}", label="bits per token"),
    }
    # Mistakes students make here, as the answers they give: which tokens are scored and counted, the
    # table read the wrong way round, the base of the logarithm, the mean in the perplexity.
    mistakes = {
        "</s> left out (its probability and its count)": _without_end,
        "the first word left unscored (no <s> context)": _without_start_word,
        "<s> counted as a predicted token": _start_counted,
        "the log-likelihood with </s> divided by the words only": _words_counted,
        "the table read as P(prev | next)": _transposed,
        "log10 for ln in the log-likelihood": lambda p: {"log_likelihood": _loglik(_probs(p)) / math.log(10)},
        "the perplexity as 2 to the NLL in nats": lambda p: {
            "perplexity": 2 ** (-_loglik(_probs(p)) / len(_probs(p)))},
        "the perplexity as 1 / the arithmetic mean probability": _arithmetic_mean,
        "the perplexity as exp(mean log-probability), the sign dropped": lambda p: {
            "perplexity": math.exp(_loglik(_probs(p)) / len(_probs(p)))},
        "bits per token left in nats": lambda p: {"bits_per_token": -_loglik(_probs(p)) / len(_probs(p))},
    }
    # the transposed table gives a whole vector: it scores only when every entry it changes agrees
    mistake_unit = {"token_probs": "answer"}
    structure = ("vocab", "sentence")  # the vocabulary's size (the table's) and the sentence's length
    asks = ("bigram-token-probabilities", "sentence-log-likelihood", "perplexity", "bits-per-token")
    reveals = ()

    def sample(self, rng):
        v = integer(rng, 3, 4)
        vocab = shuffled(rng, list(WORDS))[:v]
        table = {prev: _row(rng, [*vocab, EOS]) for prev in [BOS, *vocab]}
        n = integer(rng, 3, 5)
        return {"vocab": vocab, "table": table, "sentence": [choice(rng, vocab) for _ in range(n)]}

    def validate(self, params):
        require_keys(params, PPL_FIELDS)
        vocab = params["vocab"]
        if (not isinstance(vocab, (list, tuple)) or not 3 <= len(vocab) <= 4
                or not all(isinstance(w, str) and w.isalpha() and w.islower() and len(w) <= 8 for w in vocab)):
            raise ParamError("vocab", "a list of 3 or 4 words (lower-case letters, at most 8 each)", vocab)
        vocab = list(vocab)
        if len(set(vocab)) != len(vocab):
            raise ParamError("vocab", "3 or 4 different words", vocab)
        table = params["table"]
        rows, cols = [BOS, *vocab], [*vocab, EOS]
        if not isinstance(table, Mapping) or set(table) != set(rows):
            raise ParamError("table", f"a mapping with one row for each of {', '.join(rows)}", table)
        out: dict[str, dict[str, float]] = {}
        for prev in rows:
            row = table[prev]
            if not isinstance(row, Mapping) or set(row) != set(cols):
                raise ParamError(f"table.{prev}", f"a mapping with one probability for each of {', '.join(cols)}", row)
            out[prev] = {nxt: as_decimal(row[nxt], f"table.{prev}.{nxt}", 0.01, 1, 2) for nxt in cols}
            total = math.fsum(out[prev].values())
            if abs(total - 1) > 1e-9:
                raise ParamError(f"table.{prev}", f"probabilities that sum to 1 (these sum to {total:g})", row)
        sentence = params["sentence"]
        if not isinstance(sentence, (list, tuple)) or not 3 <= len(sentence) <= 5:
            raise ParamError("sentence", "a list of 3 to 5 words of vocab", sentence)
        for k, word in enumerate(sentence):
            if word not in vocab:
                raise ParamError(f"sentence[{k}]", f"a word of vocab ({', '.join(vocab)})", word)
        return {"vocab": vocab, "table": out, "sentence": list(sentence)}

    def degenerate(self, params):
        return scoring_mistake(self, params, self.solve(params))

    def solve(self, params):
        probs = _probs(params)
        loglik = _loglik(probs)
        return {"token_probs": probs, "log_likelihood": loglik, **_scores(loglik, len(probs))}

    def check(self, params, answers):
        """Another route: the sentence's probability as one product, walked token by token through the
        table from the text (the list of words with <s> and </s> around it); the perplexity as the
        (n+1)-th root of 1 / P, the bits from log base 2 of that product."""
        words = [BOS, *params["sentence"], EOS]
        product, looked_up = 1.0, []
        for t in range(1, len(words)):
            p = params["table"][words[t - 1]][words[t]]
            looked_up.append(p)
            product *= p
        count = len(words) - 1  # the predicted tokens: every word and </s>, never <s>
        close_all(answers["token_probs"], looked_up, "token_probs", 0.0)
        close(answers["log_likelihood"], math.log(product), "log_likelihood", 1e-12)
        close(answers["nll_per_token"], -math.log(product) / count, "nll_per_token", 1e-12)
        close(answers["perplexity"], (1 / product) ** (1 / count), "perplexity", 1e-12)
        close(answers["bits_per_token"], -math.log2(product) / count, "bits_per_token", 1e-12)

    def structure_of(self, params):
        return {"vocab": [len(params["vocab"])], "sentence": [len(params["sentence"])]}

    @staticmethod
    def _part_minutes(params: Mapping[str, Any]) -> tuple[float, float, float, float]:
        tokens = len(params["sentence"]) + 1
        # (a) n + 1 look-ups; (b) n + 1 logarithms and a sum; (c) a division and an exponential; (d) a division
        return (tokens * LOOKUP_MINUTES, tokens * CALL_MINUTES + 0.25, 0.25 + CALL_MINUTES, 0.5)

    def parts(self, params):
        weights = [max(1, math.floor(m + 0.5)) for m in self._part_minutes(params)]
        return (Part(("token_probs",), weights[0]), Part(("log_likelihood",), weights[1]),
                Part(("nll_per_token", "perplexity"), weights[2]), Part(("bits_per_token",), weights[3]))

    def minutes(self, params):
        return round(READ_MINUTES + 0.25 * len(params["vocab"]) + sum(self._part_minutes(params)), 2)

    def context(self, params, answers):
        rows = [BOS, *params["vocab"]]
        cols = [*params["vocab"], EOS]
        pairs = _tokens(params)
        return {
            "tex": {w: (r"\texttt{%s}" % w if w in (BOS, EOS) else r"\textit{%s}" % w) for w in [*rows, EOS]},
            "rows": rows,
            "cols": cols,
            "pairs": pairs,
            "logs": [math.log(p) for p in answers["token_probs"]],
            "count": len(pairs),
            "n": len(params["sentence"]),
            "work": decimals(5),
            "ln2": math.log(2),
        }


def _row(rng, cols: list[str]) -> dict[str, float]:
    """Probabilities over `cols`, multiples of UNIT, each at least UNIT, summing to 1."""
    units = round(1 / UNIT)
    cuts = sorted(int(c) for c in rng.choice(range(1, units), size=len(cols) - 1, replace=False))
    sizes = [b - a for a, b in zip([0, *cuts], [*cuts, units])]
    return {c: round(s * UNIT, 2) for c, s in zip(cols, sizes)}
