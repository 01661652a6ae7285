/* qbank in-page checker: reads each variant's answer key, checks what the student typed, reveals
   the worked solution and remembers progress in the browser. One plain script (ES2020, no modules,
   no dependencies, no network, no eval): it works from file:// and from any static host.

   The page (qbank/html/widgets.py and templates/web/page.html.j2) gives, per variant,
   [data-qbank-variant] holding <script type="application/json" data-qbank-key> (base64 JSON:
   {"answers": {NAME: {kind, tol, value, leaves: [[index, leaf kind, value], ...]}}}), inputs
   [data-qbank-answer=NAME][data-qbank-index=INDEX], one [data-qbank-result=NAME] per answer, the
   Check button [data-qbank-check], the reveal button [data-qbank-solution] and the solution
   [data-qbank-solution-body].

   What is accepted:
   - numbers: -0.5, −0.5 (U+2212), .5, 5., +3, 1e-3, 1E3, 1/2, -3/4, spaces around the sign and the
     slash; a decimal comma (0,5) only where it cannot be a thousands separator (not 1,500, not with
     a point, not twice); a constant expression (sqrt(2)/10) as well. Not: 1/0, 1e999, NaN,
     Infinity, 0x10, 1 000.
   - tolerance: an integer leaf must be exact (4, 4.0 and 8/2 pass 4); a number leaf [index,
     "number", value, tol] passes within max(tol, rel * |value|): tol is the tolerance the keys and
     the LMS exports use for it, half a unit of the last place the question asks for (its
     "precision": decimal places, significant digits, or exact: tol 0); rel only for the old
     relative tolerances. No floor: a value is graded exactly as the question states it. An answer
     that is the true value correctly rounded to fewer places than asked is "close": the message
     says which precision to give.
   - expressions: + - * / ^ (or **), parentheses, unary minus, implicit products (3w, 2(x+1),
     w(3w-2)), sqrt exp log (natural; ln too) abs sin cos tan tanh sigmoid, constants pi and e,
     any other name a variable (case and underscores ignored: U_1 is u1); equal to the key when both agree
     within a relative 1e-6 at the given points or at 12 fixed pseudo-random points (where the key
     is defined).
   - text: case-insensitive, whitespace collapsed, no space needed next to brackets and commas;
     booleans: the yes/no buttons.
*/
(function (root) {
  "use strict";

  // ------------------------------------------------------------------ numbers

  var DASHES = /[\u2212\u2012\u2013\u2014\uFE63\uFF0D]/g;
  var NUM = "(?:\\d+(?:[.,]\\d*)?|[.,]\\d+)(?:[eE][+-]?\\d+)?";
  var NUMBER_RE = new RegExp("^([+-]?)\\s*(" + NUM + ")\\s*(?:/\\s*([+-]?)\\s*(" + NUM + "))?$");
  var THOUSANDS_RE = /^[1-9]\d{0,2},\d{3}$/;

  function normalizeSigns(text) {
    return String(text).replace(DASHES, "-").replace(/\uFF0B/g, "+").replace(/[\u00D7\u00B7\u22C5]/g, "*").replace(/\u00F7/g, "/");
  }

  /* One number as people type it. Returns {ok: true, value} or {ok: false, reason} with reason
     "empty", "format", "comma" (ambiguous decimal comma) or "infinite" (1/0, 1e999). */
  function parseNumber(text) {
    if (typeof text !== "string" && typeof text !== "number") return { ok: false, reason: "format" };
    var s = normalizeSigns(text).trim();
    if (s === "") return { ok: false, reason: "empty" };
    var commas = (s.match(/,/g) || []).length;
    if (/^[-+\d.,eE\s/]*\d[-+\d.,eE\s/]*$/.test(s) && (commas > 1 || (commas === 1 && s.indexOf(".") >= 0))) {
      return { ok: false, reason: "comma" }; // 1,000.5 or 1,000,000: thousands separators, not decimals
    }
    var m = NUMBER_RE.exec(s);
    if (!m) return { ok: false, reason: "format" };
    if (commas === 1) {
      var part = m[2].indexOf(",") >= 0 ? m[2] : m[4];
      if (THOUSANDS_RE.test(part)) return { ok: false, reason: "comma" };
    }
    var value = Number(m[2].replace(",", "."));
    if (m[1] === "-") value = -value;
    if (m[4] !== undefined) {
      var den = Number(m[4].replace(",", "."));
      if (m[3] === "-") den = -den;
      if (den === 0) return { ok: false, reason: "infinite" };
      value = value / den;
    }
    if (!isFinite(value)) return { ok: false, reason: "infinite" };
    return { ok: true, value: value === 0 ? 0 : value };
  }

  /* The tolerance a number leaf is checked with (see the header). */
  function effectiveTolerance(value, tol, rel) {
    var t = typeof tol === "number" && isFinite(tol) && tol > 0 ? tol : 0;
    var r = typeof rel === "number" && isFinite(rel) && rel > 0 ? rel : 0;
    return Math.max(t, r * Math.abs(value));
  }

  /* Whether `given` passes for `want` within `tol`: the rule of qbank.precision.Precision.accepts,
     with a relative slack of 1e-9 for binary floating point. */
  function withinTolerance(given, want, tol) {
    return Math.abs(given - want) <= tol * (1 + 1e-9) + 1e-12 * Math.max(1, Math.abs(want));
  }

  /* One unit of the last place a typed plain number shows: 0.001 for "0.125", 1e-7 for "3.4e-6", 10 for
     "1250" (trailing zeros of a whole number are read as not significant); null for a fraction or an
     expression. */
  function typedUnit(text) {
    var m = /^[+-]?\s*(\d*)(?:([.,])(\d*))?(?:[eE]([+-]?\d+))?$/.exec(normalizeSigns(text).trim());
    if (!m || (m[1] === "" && (m[3] === undefined || m[3] === ""))) return null;
    var exponent = m[4] ? Number(m[4]) : 0;
    if (m[2] !== undefined) return Math.pow(10, exponent - (m[3] || "").length);
    var zeros = /0*$/.exec(m[1].replace(/^0+(?=\d)/, ""))[0].length;
    return Math.pow(10, exponent + (zeros === m[1].length ? 0 : zeros));
  }

  /* "close": the typed number is the true value rounded correctly to fewer places than asked. */
  function isClose(text, given, want) {
    var unit = typedUnit(text);
    if (unit === null || given === 0) return false;
    return withinTolerance(given, want, 0.5 * unit);
  }

  /* What to give instead of a close answer, from the answer's precision record. */
  function precisionAdvice(precision) {
    if (!precision || typeof precision !== "object") return "give more digits";
    if (precision.mode === "exact") return "give the exact value (a fraction a/b where it is not whole)";
    return "give " + (precision.text || "more digits");
  }

  /* A number leaf's typed text: a number, else a constant expression. */
  function readNumber(text) {
    var n = parseNumber(text);
    if (n.ok || n.reason !== "format") return n;
    var e = parseExpression(text);
    if (!e.ok || variablesOf(e.node).length > 0) return n;
    var v = evaluate(e.node, {});
    if (!isFinite(v)) return { ok: false, reason: "infinite" };
    return { ok: true, value: v === 0 ? 0 : v };
  }

  // ------------------------------------------------------------------ expressions

  var MAX_LENGTH = 1000;
  var MAX_DEPTH = 100;
  var FUNCTIONS = {
    sqrt: Math.sqrt, exp: Math.exp, log: Math.log, ln: Math.log, abs: Math.abs,
    sin: Math.sin, cos: Math.cos, tan: Math.tan, tanh: Math.tanh, sinh: Math.sinh, cosh: Math.cosh,
    sigmoid: function (x) { return 1 / (1 + Math.exp(-x)); }
  };
  var CONSTANTS = { pi: Math.PI, "\u03C0": Math.PI, e: Math.E, E: Math.E };
  var TOKEN_RE = /\s*(?:(\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)|([\p{L}_][\p{L}0-9_]*)|(\*\*|[-+*/^(),]))/uy;

  function tokenize(text) {
    var s = normalizeSigns(text).replace(/\u00B2/g, "^2").replace(/\u00B3/g, "^3");
    var tokens = [];
    TOKEN_RE.lastIndex = 0;
    var at = 0;
    while (at < s.length) {
      if (/^\s*$/.test(s.slice(at))) break;
      TOKEN_RE.lastIndex = at;
      var m = TOKEN_RE.exec(s);
      if (!m) return null;
      if (m[1] !== undefined) tokens.push({ t: "num", v: Number(m[1]) });
      else if (m[2] !== undefined) tokens.push({ t: "name", v: m[2] });
      else tokens.push({ t: m[3] === "**" ? "^" : m[3] });
      at = TOKEN_RE.lastIndex;
    }
    return tokens;
  }

  function ParseError(message) { this.message = message; }

  /* Parses an expression into a tree; returns {ok: true, node} or {ok: false, reason}. An
     "a = b" answer is read as b. */
  function parseExpression(text) {
    if (typeof text !== "string") return { ok: false, reason: "format" };
    var s = text.trim();
    if (s === "") return { ok: false, reason: "empty" };
    if (s.length > MAX_LENGTH) return { ok: false, reason: "format" };
    var eq = s.split("=");
    if (eq.length === 2 && eq[0].trim() !== "") s = eq[1];
    var tokens = tokenize(s);
    if (!tokens || tokens.length === 0) return { ok: false, reason: "format" };
    var pos = 0;
    var depth = 0;

    function peek() { return tokens[pos]; }
    function is(type) { return pos < tokens.length && tokens[pos].t === type; }
    function enter() { if (++depth > MAX_DEPTH) throw new ParseError("nested too deeply"); }

    function sum() {
      enter();
      var node = product();
      while (is("+") || is("-")) {
        var op = tokens[pos++].t;
        node = { t: op, a: node, b: product() };
      }
      depth--;
      return node;
    }
    function startsFactor() {
      // implicit product: 3w, 2(x+1), (a)(b), w(3w-2); never 2 3 or x 2
      return is("name") || is("(");
    }
    function product() {
      enter();
      var node = unary();
      for (;;) {
        if (is("*") || is("/")) {
          var op = tokens[pos++].t;
          node = { t: op, a: node, b: unary() };
        } else if (startsFactor()) {
          node = { t: "*", a: node, b: unary() };
        } else break;
      }
      depth--;
      return node;
    }
    function unary() {
      enter();
      var node;
      if (is("-")) { pos++; node = { t: "neg", a: unary() }; }
      else if (is("+")) { pos++; node = unary(); }
      else node = power();
      depth--;
      return node;
    }
    function power() {
      var base = primary();
      if (is("^")) { pos++; return { t: "^", a: base, b: unary() }; }
      return base;
    }
    function primary() {
      enter();
      var tok = peek();
      var node;
      if (!tok) throw new ParseError("unexpected end");
      if (tok.t === "num") { pos++; node = { t: "num", v: tok.v }; }
      else if (tok.t === "name") {
        pos++;
        var fn = tok.v.toLowerCase();
        if (Object.prototype.hasOwnProperty.call(FUNCTIONS, fn) && is("(")) {
          pos++;
          var arg = sum();
          if (!is(")")) throw new ParseError("expected )");
          pos++;
          node = { t: "call", f: fn, a: arg };
        } else if (Object.prototype.hasOwnProperty.call(FUNCTIONS, fn)) {
          throw new ParseError("expected ( after " + tok.v);
        } else if (Object.prototype.hasOwnProperty.call(CONSTANTS, tok.v) || tok.v.toLowerCase() === "pi") {
          node = { t: "num", v: CONSTANTS[tok.v] !== undefined ? CONSTANTS[tok.v] : Math.PI };
        } else {
          node = { t: "var", v: tok.v.replace(/_/g, "").toLowerCase() || tok.v };
        }
      } else if (tok.t === "(") {
        pos++;
        node = sum();
        if (!is(")")) throw new ParseError("expected )");
        pos++;
      } else throw new ParseError("unexpected " + tok.t);
      depth--;
      return node;
    }

    try {
      var node = sum();
      if (pos !== tokens.length) return { ok: false, reason: "format" };
      return { ok: true, node: node };
    } catch (err) {
      if (err instanceof ParseError || err instanceof RangeError) return { ok: false, reason: "format" };
      throw err;
    }
  }

  /* The value of a parsed expression with the given variables (a missing one is NaN). */
  function evaluate(node, vars) {
    switch (node.t) {
      case "num": return node.v;
      case "var": return vars && Object.prototype.hasOwnProperty.call(vars, node.v) ? Number(vars[node.v]) : NaN;
      case "neg": return -evaluate(node.a, vars);
      case "+": return evaluate(node.a, vars) + evaluate(node.b, vars);
      case "-": return evaluate(node.a, vars) - evaluate(node.b, vars);
      case "*": return evaluate(node.a, vars) * evaluate(node.b, vars);
      case "/": return evaluate(node.a, vars) / evaluate(node.b, vars);
      case "^": return Math.pow(evaluate(node.a, vars), evaluate(node.b, vars));
      case "call": return FUNCTIONS[node.f](evaluate(node.a, vars));
      default: return NaN;
    }
  }

  function variablesOf(node, into) {
    var seen = into || {};
    if (node.t === "var") seen[node.v] = true;
    if (node.a) variablesOf(node.a, seen);
    if (node.b) variablesOf(node.b, seen);
    return into ? seen : Object.keys(seen).sort();
  }

  // A fixed generator, so a check gives the same verdict on every run and in every browser.
  function mulberry32(seed) {
    var a = seed >>> 0;
    return function () {
      a = (a + 0x6D2B79F5) >>> 0;
      var t = a;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
  }

  function closeEnough(a, b) {
    return Math.abs(a - b) <= 1e-6 * Math.max(Math.abs(a), Math.abs(b)) + 1e-12;
  }

  /* Whether two expressions are the same function: {ok: true, equal} or {ok: false, reason}
     (reason "format": the student's text does not parse; "key": the key's does not). The points
     tried are `points` (a list of {variable: value}) and then 12 pseudo-random ones, the first four
     positive, the others of mixed signs, magnitudes 0.5 to 2.5; points where the key is undefined
     (log of a negative) are skipped. */
  function compareExpressions(studentText, keyText, points) {
    var s = parseExpression(studentText);
    if (!s.ok) return { ok: false, reason: s.reason };
    var k = parseExpression(keyText);
    if (!k.ok) return { ok: false, reason: "key" };
    var names = {};
    variablesOf(s.node, names);
    variablesOf(k.node, names);
    var vars = Object.keys(names).sort();
    var tries = Array.isArray(points) ? points.slice() : [];
    if (vars.length === 0) tries = [{}];
    else {
      var rand = mulberry32(20240611);
      for (var i = 0; i < 12; i++) {
        var p = {};
        for (var j = 0; j < vars.length; j++) {
          var magnitude = 0.5 + 2 * rand();
          var negative = i >= 4 && rand() < 0.5;
          p[vars[j]] = negative ? -magnitude : magnitude;
        }
        tries.push(p);
      }
    }
    var compared = 0;
    for (var n = 0; n < tries.length; n++) {
      var kv = evaluate(k.node, tries[n]);
      if (!isFinite(kv)) continue;
      var sv = evaluate(s.node, tries[n]);
      if (!isFinite(sv) || !closeEnough(sv, kv)) return { ok: true, equal: false };
      compared++;
    }
    return { ok: true, equal: compared > 0 };
  }

  // ------------------------------------------------------------------ text

  /* Text as compared: lower case, signs made ASCII, whitespace collapsed and dropped next to
     brackets, commas and operators. */
  function normalizeText(text) {
    return normalizeSigns(String(text).normalize ? String(text).normalize("NFKC") : String(text))
      .toLowerCase()
      .replace(/\s+/g, " ")
      .trim()
      .replace(/\s*([()[\]{},;:+\-*/^=])\s*/g, "$1");
  }

  /* Prose as a fill-in table compares it: LaTeX quotes, $, \, braces, final punctuation and spaces
     next to punctuation dropped. */
  function proseOf(text) {
    return normalizeText(String(text).replace(/``|''|[$\\{}]/g, " ").replace(/[.;:!]+\s*$/, ""))
      .replace(/^["'\u2018\u2019\u201C\u201D]+|["'\u2018\u2019\u201C\u201D]+$/g, "");
  }

  function itemsOf(text) {
    return text.split(/,|;|\band\b/).map(function (x) { return x.trim(); }).filter(Boolean).sort().join("|");
  }

  /* Whether a fill-in table cell matches its model answer loosely (see qbank/html/widgets.py). */
  function matchesLoosely(typed, model) {
    var t = proseOf(typed);
    if (t === "") return false;
    var full = proseOf(model);
    var bare = proseOf(String(model).replace(/\([^()]*\)/g, " "));
    var candidates = [full, bare].concat(bare.split(/\bor\b/).map(function (x) { return x.trim(); }));
    for (var i = 0; i < candidates.length; i++) {
      var c = candidates[i];
      if (!c) continue;
      if (t === c) return true;
      if (/[,;]|\band\b/.test(c) && itemsOf(t) === itemsOf(c)) return true;
    }
    return false;
  }

  // ------------------------------------------------------------------ one leaf

  var MESSAGES = {
    empty: "no answer",
    format: "could not read this as a number",
    comma: "a comma is ambiguous here: write a decimal point (1.5) or no separator (1500)",
    infinite: "not a finite number",
    expression: "could not read this expression",
    incorrect: "not correct"
  };

  function verdict(state, reason) {
    return { state: state, empty: reason === "empty", reason: reason || "", message: reason ? MESSAGES[reason] || reason : "" };
  }

  function isEmpty(typed) {
    return typed === undefined || typed === null || String(typed).trim() === "";
  }

  /* Compares one typed leaf with its key: {state: "correct" | "incorrect" | "compare", empty,
     reason, message}. kind: integer, number, boolean, text, expression, choice, fill-table. */
  function compareLeaf(kind, expected, typed, tol, points, rel, precision) {
    if (isEmpty(typed)) return verdict("incorrect", "empty");
    var text = String(typed);
    if (kind === "integer" || kind === "number") {
      var n = readNumber(text);
      if (!n.ok) return verdict("incorrect", n.reason);
      var want = Number(expected);
      if (kind === "integer") {
        // exact, apart from the rounding of a typed fraction or product (8/2, 0.1*30)
        return Math.abs(n.value - want) <= 1e-9 * Math.max(1, Math.abs(want)) ? verdict("correct") : verdict("incorrect", "incorrect");
      }
      if (withinTolerance(n.value, want, effectiveTolerance(want, tol, rel))) return verdict("correct");
      if (isClose(text, n.value, want)) return verdict("incorrect", "close: " + precisionAdvice(precision));
      return verdict("incorrect", "incorrect");
    }
    if (kind === "boolean") {
      var b = normalizeText(text);
      var value = b === "true" || b === "yes" ? true : b === "false" || b === "no" ? false : null;
      if (value === null) return verdict("incorrect", "format");
      return value === Boolean(expected) ? verdict("correct") : verdict("incorrect", "incorrect");
    }
    if (kind === "choice") {
      return Number(text) === Number(expected) ? verdict("correct") : verdict("incorrect", "incorrect");
    }
    if (kind === "fill-table") {
      return matchesLoosely(text, expected) ? verdict("correct") : verdict("compare");
    }
    if (normalizeText(text) === normalizeText(expected)) return verdict("correct");
    if (kind === "expression") {
      var e = compareExpressions(text, String(expected), points);
      if (!e.ok) return verdict("incorrect", e.reason === "format" ? "expression" : "incorrect");
      return e.equal ? verdict("correct") : verdict("incorrect", "incorrect");
    }
    // text: besides equal text, equal numbers ("-1" and "-1.0"), and a one-word key that is a
    // variable compared as an expression ("w" and "1*w"); never a token sequence as a product
    var a = parseNumber(text);
    var k = parseNumber(String(expected));
    if (a.ok && k.ok) {
      return withinTolerance(a.value, k.value, effectiveTolerance(k.value, tol, rel)) ? verdict("correct") : verdict("incorrect", "incorrect");
    }
    if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(String(expected).trim())) {
      var x = compareExpressions(text, String(expected), points);
      if (x.ok && x.equal) return verdict("correct");
    }
    return verdict("incorrect", "incorrect");
  }

  // ------------------------------------------------------------------ the key

  function base64Text(text) {
    var binary = root.atob(text.replace(/\s+/g, ""));
    if (typeof root.TextDecoder === "function") {
      var bytes = new Uint8Array(binary.length);
      for (var i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
      return new root.TextDecoder("utf-8").decode(bytes);
    }
    return binary;
  }

  /* The key of a variant from its script element's text: base64 JSON (or plain JSON). */
  function decodeKey(text) {
    var s = String(text || "").trim();
    if (s === "") return null;
    var data = JSON.parse(s.charAt(0) === "{" ? s : base64Text(s));
    return data && typeof data === "object" && data.answers && typeof data.answers === "object" ? data : null;
  }

  /* The leaves an answer's inputs are checked against: [[index, kind, value]]. */
  function leavesOf(spec) {
    if (spec.kind === "choice") return [["", "choice", spec.value]];
    if (spec.kind === "fill-table") {
      return Object.keys(spec.value || {}).map(function (index) { return [index, "fill-table", spec.value[index]]; });
    }
    if (Array.isArray(spec.leaves)) return spec.leaves;
    return [["", spec.kind, spec.value]];
  }

  // ------------------------------------------------------------------ the page

  function openStorage() {
    try {
      var store = root.localStorage;
      var probe = "qbank:probe";
      store.setItem(probe, "1");
      store.removeItem(probe);
      return store;
    } catch (err) {
      return null; // private mode, or file:// in a browser that refuses storage: no progress, no errors
    }
  }

  function readRecord(store, key) {
    if (!store) return null;
    try {
      var data = JSON.parse(store.getItem(key) || "null");
      return data && typeof data === "object" ? data : null;
    } catch (err) {
      return null;
    }
  }

  function writeRecord(store, key, record) {
    if (!store) return;
    try {
      store.setItem(key, JSON.stringify(record));
    } catch (err) {
      // quota or storage switched off meanwhile: progress is a convenience, never an error
    }
  }

  function inputsOf(section) {
    var byName = {};
    var all = section.querySelectorAll("[data-qbank-answer]");
    for (var i = 0; i < all.length; i++) {
      var el = all[i];
      var name = el.getAttribute("data-qbank-answer");
      var index = el.getAttribute("data-qbank-index");
      if (el.getAttribute("data-qbank-choice") !== null) index = "";
      index = index === null ? "" : index;
      byName[name] = byName[name] || {};
      (byName[name][index] = byName[name][index] || []).push(el);
    }
    return byName;
  }

  function typedIn(elements) {
    if (!elements || elements.length === 0) return "";
    if (elements[0].type === "radio" || elements[0].type === "checkbox") {
      for (var i = 0; i < elements.length; i++) if (elements[i].checked) return elements[i].value;
      return "";
    }
    return elements[0].value;
  }

  function setTyped(elements, typed) {
    if (!elements || typeof typed !== "string") return;
    for (var i = 0; i < elements.length; i++) {
      var el = elements[i];
      if (el.type === "radio" || el.type === "checkbox") el.checked = el.value === typed;
      else el.value = typed;
    }
  }

  function resultOf(section, name) {
    var all = section.querySelectorAll("[data-qbank-result]");
    for (var i = 0; i < all.length; i++) if (all[i].getAttribute("data-qbank-result") === name) return all[i];
    return null;
  }

  function showResult(el, state, text) {
    if (!el) return;
    el.setAttribute("data-qbank-state", state);
    el.textContent = text;
  }

  function markLeaf(elements, state) {
    for (var i = 0; i < (elements || []).length; i++) {
      var el = elements[i];
      if (state) el.setAttribute("data-qbank-leaf-state", state);
      else el.removeAttribute("data-qbank-leaf-state");
      if (state === "incorrect" && el.type !== "radio") el.setAttribute("aria-invalid", "true");
      else el.removeAttribute("aria-invalid");
    }
  }

  function plural(n, word) { return n + " " + word + (n === 1 ? "" : "s"); }

  /* The entries typed into one field for a whole vector ("3, -1, 4"), matrix (a row per line, or rows
     separated by ";") or 3-D tensor (a matrix per channel, channels separated by a blank line or "|"),
     brackets ignored: a list of rows of entries; for a tensor, a list of channels of rows. */
  function splitList(text, shape) {
    var s = normalizeSigns(String(text)).replace(/[\[\]()]/g, " ").trim();
    if (s === "") return [];
    function rowsOf(part) {
      var rows = shape === "matrix" || shape === "tensor" ? part.split(/\s*[\n;]\s*/) : [part];
      return rows.filter(function (r) { return r.trim() !== ""; }).map(function (r) {
        return r.trim().split(/\s*,\s*|\s+/).filter(function (t) { return t !== ""; });
      });
    }
    if (shape !== "tensor") return rowsOf(s);
    return s.split(/[ \t]*\n[ \t]*\n\s*|\s*\|\s*/).filter(function (c) { return c.trim() !== ""; }).map(rowsOf);
  }

  /* The entries of a list field, one per leaf in the key's order, or null when their number (or a
     matrix's rows, or a tensor's channels and rows) do not fit: the message says so without telling the
     size. */
  function listEntries(text, spec, leaves) {
    var parts = splitList(text, spec.list);
    var matrices = spec.list === "tensor" ? parts : [parts];
    var flat = [].concat.apply([], [].concat.apply([], matrices));
    if (flat.length !== leaves.length) return null;
    if (spec.list === "matrix" || spec.list === "tensor") {
      var shape = spec.list === "tensor" ? spec.value[0] : spec.value;
      var width = shape[0].length;
      if (spec.list === "tensor" && matrices.length !== spec.value.length) return null;
      if (matrices.some(function (rows) {
        return rows.length !== shape.length || rows.some(function (r) { return r.length !== width; });
      })) return null;
    }
    return flat;
  }

  /* Checks one answer; returns its state. */
  function checkAnswer(section, inputs, name, spec) {
    var result = resultOf(section, name);
    if (spec.kind === "written") {
      if (result && result.getAttribute("data-qbank-state") !== "compare") {
        showResult(result, "unchecked", "\u270E Not checked automatically: show the solution and compare.");
      }
      return "written";
    }
    var leaves = leavesOf(spec);
    var counts = { correct: 0, incorrect: 0, compare: 0, empty: 0 };
    var first = null;
    var close = "";
    var mine = inputs[name] || {};
    if (spec.list) {
      var field = mine[""];
      var typedList = typedIn(field);
      if (isEmpty(typedList)) {
        markLeaf(field, "incorrect");
        showResult(result, "incorrect", "\u2717 No answer");
        return "incorrect";
      }
      var entries = listEntries(typedList, spec, leaves);
      if (entries === null) {
        markLeaf(field, "incorrect");
        showResult(result, "incorrect", spec.list === "tensor" ? "\u2717 Not the right number of channels, rows or entries"
                                      : spec.list === "matrix" ? "\u2717 Not the right number of rows or entries"
                                                                : "\u2717 Not the right number of entries");
        return "incorrect";
      }
    }
    for (var i = 0; i < leaves.length; i++) {
      var leaf = leaves[i];
      var elements = spec.list ? mine[""] : mine[leaf[0]];
      var v = compareLeaf(leaf[1], leaf[2], spec.list ? entries[i] : typedIn(elements), leaf[3], spec.points, spec.rel, spec.precision);
      if (v.empty) counts.empty++;
      else counts[v.state]++;
      if (v.reason.indexOf("close") === 0) close = v.message;
      if (!spec.list) markLeaf(elements, v.empty ? "incorrect" : v.state);
      if (first === null) first = v;
    }
    var total = leaves.length;
    var word = "cell";
    var words = spec.kind === "fill-table" ? "cells" : "entries";
    var state, text;
    if (counts.correct === total) {
      state = "correct";
      text = "\u2713 Correct";
    } else if (counts.empty === total) {
      state = "incorrect";
      text = "\u2717 No answer";
    } else if (spec.kind === "fill-table" && counts.incorrect === 0 && counts.empty > 0) {
      state = "incorrect";
      text = "\u2717 " + counts.empty + " of " + plural(total, word) + " empty" +
        (counts.compare ? "; compare " + counts.compare + " with the model answer in the solution" : "");
    } else if (counts.incorrect + counts.empty > 0) {
      state = "incorrect";
      if (total === 1 && !spec.list) text = "\u2717 " + first.message.charAt(0).toUpperCase() + first.message.slice(1);
      else if (spec.list) {  // never "of N": the number of entries is asked elsewhere
        var off = counts.incorrect + counts.empty;
        text = "\u2717 " + plural(off, "entry").replace("entrys", "entries") + " not correct" + (close ? "; " + close : "");
      } else {
        var wrong = counts.incorrect + counts.empty;
        text = "\u2717 " + wrong + " of " + total + " " + words + " not correct" + (counts.empty ? " (" + counts.empty + " empty)" : "") +
          (close ? "; " + close : "");
      }
    } else {
      state = "compare";
      text = "\u270E " + counts.correct + " of " + plural(total, word) +
        " match the model answer; compare the others with the solution";
    }
    if (spec.list) markLeaf(mine[""], state);
    showResult(result, state, text);
    return state;
  }

  function setupVariant(section, store, pageId) {
    var vid = section.getAttribute("data-qbank-variant") || "";
    var recordKey = "qbank:" + pageId + ":" + vid;
    var script = section.querySelector("script[data-qbank-key]");
    var key = null;
    try {
      key = decodeKey(script ? script.textContent : "");
    } catch (err) {
      key = null;
    }
    var checkButton = section.querySelector("[data-qbank-check]");
    var solutionButton = section.querySelector("[data-qbank-solution]");
    var solution = section.querySelector("[data-qbank-solution-body]");
    var record = readRecord(store, recordKey) || {};

    function typedAnswers() {
      var inputs = inputsOf(section);
      var out = {};
      Object.keys(inputs).forEach(function (name) {
        out[name] = {};
        Object.keys(inputs[name]).forEach(function (index) {
          var typed = typedIn(inputs[name][index]);
          if (typed !== "") out[name][index] = typed;
        });
      });
      return out;
    }

    function save() {
      writeRecord(store, recordKey, {
        correct: Boolean(record.correct),
        checked: Boolean(record.checked),
        answers: typedAnswers()
      });
    }

    function check() {
      if (!key) return;
      var inputs = inputsOf(section);
      var names = Object.keys(key.answers);
      var auto = 0;
      var right = 0;
      for (var i = 0; i < names.length; i++) {
        var state = checkAnswer(section, inputs, names[i], key.answers[names[i]] || {});
        if (state === "written") continue;
        auto++;
        if (state === "correct") right++;
      }
      var solved = auto > 0 && right === auto;
      if (solved) section.setAttribute("data-qbank-solved", "");
      else section.removeAttribute("data-qbank-solved");
      // "correct" is sticky: a variant once solved stays solved in the progress record
      record.correct = Boolean(record.correct) || solved;
      record.checked = true;
      save();
    }

    function showSolution(show) {
      if (!solution) return;
      solution.hidden = !show;
      if (solutionButton) {
        solutionButton.setAttribute("aria-expanded", show ? "true" : "false");
        if (!solutionButton.hasAttribute("data-qbank-label")) solutionButton.setAttribute("data-qbank-label", solutionButton.textContent);
        solutionButton.textContent = show ? "Hide solution" : solutionButton.getAttribute("data-qbank-label");
      }
      if (show && key) {
        Object.keys(key.answers).forEach(function (name) {
          if ((key.answers[name] || {}).kind === "written") {
            showResult(resultOf(section, name), "compare", "\u270E Compare your answer with the model solution.");
          }
        });
      }
    }

    function edited(event) {
      var el = event.target;
      if (!el || !el.getAttribute) return;
      var name = el.getAttribute("data-qbank-answer");
      if (name === null) return;
      var result = resultOf(section, name);
      if (result && result.getAttribute("data-qbank-state") !== "compare") showResult(result, "unchecked", "");
      var inputs = inputsOf(section)[name] || {};
      Object.keys(inputs).forEach(function (index) {
        if (inputs[index].indexOf(el) >= 0) markLeaf(inputs[index], null);
      });
      record.checked = false;
      save();
    }

    function guarded(fn) {
      return function (event) {
        try {
          fn(event);
        } catch (err) {
          // a checker fault must never break the page or reach the console
        }
      };
    }

    if (checkButton) {
      if (!key) {
        checkButton.disabled = true;
        checkButton.title = "No answer key in this page";
      }
      checkButton.addEventListener("click", guarded(check));
    }
    var forms = section.querySelectorAll("form");
    for (var f = 0; f < forms.length; f++) {
      forms[f].addEventListener("submit", function (event) {
        event.preventDefault(); // Enter in an input checks instead of reloading the page
        guarded(check)(event);
      });
    }
    if (solutionButton) {
      solutionButton.addEventListener("click", guarded(function () { showSolution(Boolean(solution && solution.hidden)); }));
      solutionButton.setAttribute("aria-expanded", solution && !solution.hidden ? "true" : "false");
    }
    section.addEventListener("keydown", guarded(function (event) {
      // Enter in a one-line input checks (a form of several inputs would not submit by itself)
      var el = event.target;
      if (event.key !== "Enter" || !el || el.tagName !== "INPUT" || event.isComposing) return;
      event.preventDefault();
      check();
    }));
    section.addEventListener("input", guarded(edited));
    section.addEventListener("change", guarded(edited));

    // restore what was typed, and the marks if it had been checked since the last edit
    if (record.answers && typeof record.answers === "object") {
      var inputs = inputsOf(section);
      Object.keys(record.answers).forEach(function (name) {
        var typed = record.answers[name];
        if (!inputs[name] || !typed || typeof typed !== "object") return;
        Object.keys(typed).forEach(function (index) { setTyped(inputs[name][index], typed[index]); });
      });
      if (record.checked) guarded(check)();
    }
    if (record.correct) section.setAttribute("data-qbank-solved", "");
  }

  function pageIdOf(doc) {
    var body = doc.body;
    var id = body && body.getAttribute("data-qbank-page");
    if (id) return id;
    try {
      return (root.location && root.location.pathname) || "page";
    } catch (err) {
      return "page";
    }
  }

  function init(doc) {
    var store = openStorage();
    var pageId = pageIdOf(doc);
    var sections = doc.querySelectorAll("[data-qbank-variant]");
    for (var i = 0; i < sections.length; i++) {
      try {
        setupVariant(sections[i], store, pageId);
      } catch (err) {
        // one broken variant leaves the others working
      }
    }
  }

  if (typeof document !== "undefined" && document.addEventListener) {
    if (document.readyState === "loading") {
      document.addEventListener("DOMContentLoaded", function () { init(document); });
    } else {
      init(document);
    }
  }

  var api = {
    parseNumber: parseNumber,
    readNumber: readNumber,
    effectiveTolerance: effectiveTolerance,
    typedUnit: typedUnit,
    splitList: splitList,
    listEntries: listEntries,
    parseExpression: parseExpression,
    evaluate: evaluate,
    variablesOf: variablesOf,
    compareExpressions: compareExpressions,
    normalizeText: normalizeText,
    matchesLoosely: matchesLoosely,
    compareLeaf: compareLeaf,
    decodeKey: decodeKey,
    leavesOf: leavesOf
  };
  if (typeof module !== "undefined" && module.exports) module.exports = api;
  else root.qbankChecker = api;
})(typeof window !== "undefined" ? window : globalThis);
