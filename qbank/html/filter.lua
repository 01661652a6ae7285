--[[ qbank's pandoc filter: what pandoc's LaTeX reader (latex+raw_tex) keeps as raw LaTeX, made HTML.

qbank.html.convert rewrites a fragment before pandoc reads it (see prepare() there):
  - exam-class lists become `enumerate`, each \item starting with \qbankitem{KIND}{POINTS};
  - \qbankanswer{X} and \qbankfigure{X} become a minipage (which pandoc reads into a div) that starts
    with \qbankdiv{answer} or \qbankdiv{figure};
  - fragments converted in one run are separated by \begin{qbanksplit}N\end{qbanksplit}.
Pass 1 turns every raw LaTeX command into its content or its spacing: nothing pandoc keeps raw is
dropped with its content (raw LaTeX with content inside, an environment or \fbox{...}, is read again
by pandoc, through all three passes). Pass 2 makes the marked lists <ol class="qbank-parts" type="a">
with <li data-points="...">, the marked divs an answer box or a centred figure, and `{\color{c} ...}`
a coloured span. Pass 3 writes xcolor colours as CSS and drops what is left of the markers.
Each pass only asks for the elements it changes: every element pandoc hands to Lua costs time.
]]

local READER = "latex+raw_tex-auto_identifiers" -- as qbank.html.convert.READER

-- the list kinds: the class and numbering of their <ol>
local LISTS = {
  parts = { class = "qbank-parts", type = "a" },
  subparts = { class = "qbank-subparts", type = "i" },
  subsubparts = { class = "qbank-subsubparts", type = "1" },
  choices = { class = "qbank-choices", type = "A" },
  checkboxes = { class = "qbank-choices qbank-checkboxes", type = "A" },
}

-- commands that only space or break: (what they leave in the text)
local EM = "\u{2003}"
local SPACING = {
  quad = EM, qquad = EM .. EM, enspace = "\u{2002}", enskip = "\u{2002}", thinspace = "\u{2009}",
  [","] = "\u{2009}", [" "] = " ", hfill = " ", hspace = " ", ["hspace*"] = " ", hskip = " ",
  dotfill = " ", hrulefill = " ", space = " ",
}
local SILENT = {}
for _, name in ipairs({
  "medskip", "smallskip", "bigskip", "vspace", "vspace*", "vskip", "noindent", "indent", "par", "null",
  "relax", "centering", "raggedright", "raggedleft", "clearpage", "newpage", "pagebreak", "nopagebreak",
  "leavevmode", "strut", "linebreak", "nolinebreak", "protect", "phantomsection", "label", "nobreak",
  "arraybackslash", "ignorespaces", "unskip", "setlength", "addvspace", "vfill", "allowdisplaybreaks",
  "message", "typeout", "pagestyle", "thispagestyle", "FloatBarrier", "hline", "toprule", "midrule",
  "bottomrule", "smallbreak", "medbreak", "bigbreak", "filbreak", "goodbreak", "displaystyle", "textstyle",
}) do
  SILENT[name] = true
end
-- commands whose last argument is their content, shown as is (a box, a raised or colored box)
local BOXES = {
  fbox = "qbank-box", framebox = "qbank-box", colorbox = "qbank-box", fcolorbox = "qbank-box",
  makebox = false, mbox = false, hbox = false, parbox = false, raisebox = false, text = false,
  textnormal = false, textrm = false, textup = false, textmd = false, ensuremath = false,
}

-- --- a little LaTeX: a command's name and its arguments ---------------------------------------------

local function balanced(s, i, open, close)
  -- s:sub(i, i) == open; the index of its matching close
  local depth = 0
  local j = i
  while j <= #s do
    local c = s:sub(j, j)
    if c == "\\" then
      j = j + 1
    elseif c == "{" and open ~= "{" then
      local k = balanced(s, j, "{", "}")
      if not k then return nil end
      j = k
    elseif c == open then
      depth = depth + 1
    elseif c == close then
      depth = depth - 1
      if depth == 0 then return j end
    end
    j = j + 1
  end
  return nil
end

-- `\name[opt]{arg}...`: name, arguments ({opt = bool, text = string}), and what follows them
local function parse_command(s)
  local name, pos = s:match("^\\([%a@]+%*?)()")
  if not name then
    name, pos = s:match("^\\(.)()")
  end
  if not name then return nil end
  local args = {}
  local i = pos
  while i <= #s do
    local ws = s:match("^%s*", i)
    local j = i + #ws
    local c = s:sub(j, j)
    if c == "{" or c == "[" then
      local k = balanced(s, j, c, c == "{" and "}" or "]")
      if not k then break end
      table.insert(args, { opt = (c == "["), text = s:sub(j + 1, k - 1) })
      i = k + 1
    else
      break
    end
  end
  return name, args, s:sub(i)
end

local function required(args)
  local out = {}
  for _, a in ipairs(args) do
    if not a.opt then table.insert(out, a.text) end
  end
  return out
end

-- --- reading LaTeX again, through every pass of this filter ---------------------------------------

local PASSES -- set at the end of the file

local function read_blocks(tex)
  local ok, doc = pcall(pandoc.read, tex, READER)
  if not ok then
    -- LaTeX pandoc cannot read: shown as it is (a visible fault, never a silent loss)
    return pandoc.Blocks({ pandoc.Para({ pandoc.Code(tex) }) })
  end
  local blocks = doc.blocks
  for _, pass in ipairs(PASSES) do
    blocks = blocks:walk(pass)
  end
  return blocks
end

local function read_inlines(tex)
  return pandoc.utils.blocks_to_inlines(read_blocks(tex), { pandoc.Space() })
end

local function ends_with_space(text)
  return text:match("%s$") ~= nil
end

-- --- pass 1: raw LaTeX ------------------------------------------------------------------------------

local function environment(text)
  local name, body = text:match("^%s*\\begin{([^}]+)}(.*)\\end{[^}]+}%s*$")
  return name, body
end

local function answer_box(blocks)
  local label = { pandoc.Strong({ pandoc.Str("Answer:") }), pandoc.Space() }
  local first = blocks[1]
  if first and (first.t == "Para" or first.t == "Plain") then
    first.content = pandoc.Inlines(label) .. first.content
  else
    blocks:insert(1, pandoc.Plain(label))
  end
  return pandoc.Div(blocks, pandoc.Attr("", { "qbank-answer" }))
end

local function figure_box(blocks)
  return pandoc.Div(blocks, pandoc.Attr("", { "qbank-figure" }, { style = "text-align: center" }))
end

local BOXED = { answer = answer_box, figure = figure_box }

local raw_inline -- below: raw_block reads a raw block as raw inlines

local function raw_block(el)
  if el.format ~= "latex" and el.format ~= "tex" then return nil end
  local text = el.text
  local env, body = environment(text)
  if env == "qbanksplit" then
    return pandoc.RawBlock("html", "<!-- qbank-split " .. body:gsub("%s", "") .. " -->")
  elseif env then
    -- an environment pandoc does not know: its content, in a div named after it
    return pandoc.Div(read_blocks(body), pandoc.Attr("", { "qbank-" .. env:gsub("%*", "") }))
  end
  if text:match("^%s*\\qbankitem") or text:match("^%s*\\qbankdiv") then
    return nil -- the list and box pass reads \qbankitem and \qbankdiv
  end
  local inlines = pandoc.Inlines({ pandoc.RawInline("latex", text) })
  local out = pandoc.Inlines({})
  for _, piece in ipairs(inlines) do
    local got = raw_inline(piece)
    if got == nil then out:insert(piece) else out:extend(got) end
  end
  if #out == 0 or (#out == 1 and out[1].t == "Space") then
    return {}
  end
  return pandoc.Plain(out)
end

-- one raw command (maybe followed by more raw text) as inlines
raw_inline = function(el)
  if el.format ~= "latex" and el.format ~= "tex" then return nil end
  local text = el.text
  local name, args, rest = parse_command(text)
  if not name then
    return pandoc.Inlines({ pandoc.Str(text) })
  end
  if name == "qbankitem" or name == "qbankdiv" or name == "color" then
    return nil -- the second pass reads these
  end
  local out = pandoc.Inlines({})
  local req = required(args)
  if SPACING[name] then
    out:insert(pandoc.Str(SPACING[name]))
  elseif name == "allowbreak" then
    out:insert(ends_with_space(text) and pandoc.Space() or pandoc.RawInline("html", "<wbr />"))
  elseif SILENT[name] then
    if ends_with_space(text) then out:insert(pandoc.Space()) end
  elseif BOXES[name] ~= nil and #req > 0 then
    local content = read_inlines(req[#req])
    if BOXES[name] then
      out:insert(pandoc.Span(content, pandoc.Attr("", { BOXES[name] })))
    else
      out:extend(content)
    end
    if ends_with_space(text) then out:insert(pandoc.Space()) end
  elseif name == "begin" and #req > 0 then
    -- an environment inside a paragraph: its content
    local body = text:match("^\\begin{[^}]+}(.*)\\end{[^}]+}%s*$") or rest
    out:extend(read_inlines(body))
  elseif #req > 0 then
    -- a command pandoc does not know: keep the content of its arguments
    for k, arg in ipairs(req) do
      if k > 1 then out:insert(pandoc.Space()) end
      out:extend(read_inlines(arg))
    end
    if ends_with_space(text) then out:insert(pandoc.Space()) end
  else
    if ends_with_space(text) then out:insert(pandoc.Space()) end
  end
  if name ~= "begin" and rest:match("%S") then
    out:extend(read_inlines(rest))
  end
  return out
end

local raw_pass = {
  RawBlock = raw_block,
  RawInline = raw_inline,
}

-- --- pass 2: lists and colours --------------------------------------------------------------------

-- the marker `\\NAME{ARG1}{ARG2}` a list of blocks starts with, removed from it: ARG1, ARG2
local function leading_marker(blocks, name)
  local pattern = "^%s*\\" .. name .. "{(%a+)}"
  local first = blocks[1]
  if not first then return nil end
  if first.t == "RawBlock" then
    local kind = first.text:match(pattern)
    if kind then
      local _, arg = first.text:match(pattern .. "{([^}]*)}")
      blocks:remove(1)
      return kind, arg or ""
    end
  elseif (first.t == "Para" or first.t == "Plain") and first.content[1] and first.content[1].t == "RawInline" then
    local text = first.content[1].text
    local kind = text:match(pattern)
    if kind then
      local _, arg = text:match(pattern .. "{([^}]*)}")
      first.content:remove(1)
      while first.content[1] and (first.content[1].t == "Space" or first.content[1].t == "SoftBreak") do
        first.content:remove(1)
      end
      if #first.content == 0 then blocks:remove(1) end
      return kind, arg or ""
    end
  end
  return nil
end

local function item_marker(blocks)
  return leading_marker(blocks, "qbankitem")
end

-- \qbankanswer and \qbankfigure arrive as a minipage (which pandoc reads) marked \qbankdiv{KIND}
local function boxed_div(el)
  if not el.classes:includes("minipage") then return nil end
  local kind = leading_marker(el.content, "qbankdiv")
  if kind and BOXED[kind] then
    return BOXED[kind](el.content)
  end
end

local function escape_attr(text)
  return (text:gsub("&", "&amp;"):gsub('"', "&quot;"):gsub("<", "&lt;"))
end

local function exam_list(el)
  local kinds = {}
  local points = {}
  for i, item in ipairs(el.content) do
    local kind, pts = item_marker(item)
    if not kind then
      if i == 1 then return nil end -- a plain enumerate
      kind = kinds[1]
    end
    kinds[i], points[i] = kind, pts or ""
  end
  local spec = LISTS[kinds[1]] or LISTS.parts
  local out = pandoc.Blocks({ pandoc.RawBlock("html", string.format('<ol class="%s" type="%s">', spec.class, spec.type)) })
  for i, item in ipairs(el.content) do
    local pts = points[i]:gsub("^%s+", ""):gsub("%s+$", "")
    local open = pts ~= "" and string.format('<li data-points="%s">', escape_attr(pts)) or "<li>"
    out:insert(pandoc.RawBlock("html", open))
    out:extend(item)
    out:insert(pandoc.RawBlock("html", "</li>"))
  end
  out:insert(pandoc.RawBlock("html", "</ol>"))
  return out
end

-- xcolor's names and mixes (blue!70!black: 70 % blue, 30 % black) as CSS colours
local COLORS = {
  red = { 1, 0, 0 }, green = { 0, 1, 0 }, blue = { 0, 0, 1 }, cyan = { 0, 1, 1 }, magenta = { 1, 0, 1 },
  yellow = { 1, 1, 0 }, black = { 0, 0, 0 }, white = { 1, 1, 1 }, gray = { .5, .5, .5 },
  darkgray = { .25, .25, .25 }, lightgray = { .75, .75, .75 }, brown = { .75, .5, .25 },
  lime = { .75, 1, 0 }, olive = { .5, .5, 0 }, orange = { 1, .5, 0 }, pink = { 1, .75, .75 },
  purple = { .75, 0, .25 }, teal = { 0, .5, .5 }, violet = { .5, 0, .5 },
}

local function css_color(expr)
  expr = expr:gsub("%s", "")
  local parts = {}
  for piece in (expr .. "!"):gmatch("([^!]*)!") do
    table.insert(parts, piece)
  end
  local base = COLORS[parts[1]]
  if not base then return nil end
  local rgb = { base[1], base[2], base[3] }
  local i = 2
  while i <= #parts do
    local pct = tonumber(parts[i])
    if not pct then return nil end
    local other = parts[i + 1] and COLORS[parts[i + 1]] or COLORS.white
    if parts[i + 1] and not COLORS[parts[i + 1]] then return nil end
    local p = math.max(0, math.min(100, pct)) / 100
    for c = 1, 3 do
      rgb[c] = p * rgb[c] + (1 - p) * other[c]
    end
    i = i + 2
  end
  return string.format("#%02x%02x%02x", math.floor(rgb[1] * 255 + 0.5), math.floor(rgb[2] * 255 + 0.5), math.floor(rgb[3] * 255 + 0.5))
end

local function color_style(expr)
  local css = css_color(expr)
  if css then return "color: " .. css end
  if expr:match("^#?%x%x%x%x%x%x$") then return "color: #" .. expr:gsub("^#", "") end
  return nil
end

-- `{\color{c} text}`: pandoc reads the group as a span that starts with the raw \color. (A \color
-- elsewhere is dropped in the last pass and its text stays, uncoloured: an Inlines filter that could
-- find it would cost every list of inlines a trip to Lua.)
local function color_group(el)
  local first = el.content[1]
  if first and first.t == "RawInline" then
    local expr = first.text:match("^\\color%s*{([^}]*)}")
    if expr then
      el.content:remove(1)
      local style = color_style(expr)
      if style then el.attributes.style = style end
      return el
    end
  end
end

local list_pass = {
  OrderedList = exam_list,
  Div = boxed_div,
  Span = color_group,
}

-- --- pass 3: what is left -----------------------------------------------------------------------------

local finish_pass = {
  Span = function(el)
    local style = el.attributes.style
    if style then
      local expr = style:match("^%s*color:%s*(.-)%s*;?%s*$")
      if expr then
        local fixed = color_style(expr)
        el.attributes.style = fixed
        return el
      end
    end
    -- a bare group (`{...}` in the LaTeX) need not be a span
    if el.identifier == "" and #el.classes == 0 and #el.attributes == 0 then
      return el.content
    end
  end,
  Image = function(el)
    if el.src:match("^fig%-%x+%.svg$") then
      el.caption = { pandoc.Str("Figure") }
      if not el.classes:includes("qbank-figure-img") then el.classes:insert("qbank-figure-img") end
      return el
    end
  end,
  RawInline = function(el)
    if el.format == "latex" or el.format == "tex" then
      return {} -- only markers are left here; everything else was read in pass 1
    end
  end,
  RawBlock = function(el)
    if el.format == "latex" or el.format == "tex" then
      return {}
    end
  end,
}

PASSES = { raw_pass, list_pass, finish_pass }

return PASSES
