"""Multiple-choice tells: `qbank bank` warns when the correct choice can be found without knowing the
answer (much the longest, the only formula, the only hedge) and about choices that point at the others
("none of the above"); one line each, naming the file, the line of the choice, the item and the field.
The shipped bank has none of them."""

from __future__ import annotations

import math
import textwrap

import pytest
from conftest import run_qbank

from qbank.bank import (
    choice_tells,
    correct_is_longest,
    has_formula,
    hedges,
    load_bank,
    load_items,
    longest_correct_note,
    read_length,
)

ITEM = """\
- id: which-layer
  title: Which layer shares weights over space
  topic: cnn
  tags: [conceptual]
  difficulty: 1
  points: 2
  kind: multiple-choice
  question: Which layer shares its weights across positions?
  choices:
    - text: A convolutional layer slides one filter over the image.
      correct: true
    - text: A fully connected layer ties weights across rows.
      correct: false
    - text: A softmax layer normalises weights over the classes.
      correct: false
  solution: The convolution slides one filter over every position.
"""


def tells_of(tmp_path, text: str) -> tuple[str, list[str]]:
    path = tmp_path / "cnn.yaml"
    path.write_text(textwrap.dedent(text))
    (item,) = load_items(path)
    return str(path), choice_tells(item)


def test_a_plain_item_has_no_tells(tmp_path):
    assert tells_of(tmp_path, ITEM)[1] == []


def test_a_correct_choice_much_longer_than_every_distractor(tmp_path):
    text = ITEM.replace(
        "A convolutional layer slides one filter over the image.",
        "A convolutional layer slides one small filter over every position of the image, so the same weights meet every patch.",
    )
    path, tells = tells_of(tmp_path, text)
    assert tells == [
        f"{path}: line 10: item 'which-layer': choices[0]: the correct choice is 2.2 times as long as the longest "
        "distractor (117 vs 52 characters as read); students pick the longest choice: shorten it or lengthen the "
        "distractors (at most 1.3 times)"
    ]


def test_the_length_is_the_text_as_read_not_its_latex(tmp_path):
    marked = r"A \emph{convolutional} layer \textbf{slides} one \textit{filter} over the \emph{image}."
    assert len(marked) > 1.3 * 52 and read_length(marked) == len("A convolutional layer slides one filter over the image.")
    assert tells_of(tmp_path, ITEM.replace("A convolutional layer slides one filter over the image.", marked))[1] == []


@pytest.mark.parametrize(
    "latex, read",
    [
        ("plain   words\n here", "plain words here"),
        (r"$O(T\,k\,M \log M)$", "O(TkM log M)"),  # thin spaces nothing, an operator its letters
        (r"$\partial c_t / \partial c_{t-1} = \operatorname{diag}(f_t)$", "# ct / # ct-1 = diag(ft)"),  # a symbol: one
        (r"$\mathcal{N}(0, \lambda I)$, e.g.\ 50\% of $\frac{a}{b}$", "N(0, # I), e.g. 50% of ab"),
        (r"\bigl(J(\theta)\bigr)~and \\ more", "(J(#)) and more"),
    ],
)
def test_read_length_counts_what_a_student_reads(latex, read):
    assert read_length(latex) == len(read)


@pytest.mark.parametrize(
    "latex, formula",
    [("a $y = Wx$ layer", True), (r"a \(y = Wx\) layer", True), (r"\[ y = Wx \]", True), (r"costs \$5", False),
     (r"two lines\\[2pt] of words", False), ("plain words", False)],
)
def test_has_formula(latex, formula):
    assert has_formula(latex) is formula


def test_only_the_correct_choice_holds_a_formula(tmp_path):
    text = ITEM.replace("A convolutional layer slides one filter over the image.", r"A convolutional layer, $y = w * x$.")
    path, tells = tells_of(tmp_path, text)
    assert tells == [
        f"{path}: line 10: item 'which-layer': choices[0]: only the correct choice holds a formula; give a distractor "
        "one too (a confused formula makes a good one), or state this choice in words"
    ]
    with_formula = text.replace("A softmax layer normalises weights over the classes.", r"A softmax layer, $y = \max(x)$.")
    assert tells_of(tmp_path, with_formula)[1] == []


@pytest.mark.parametrize(
    "latex, found",
    [
        ("a filter is usually slid over the image", ["usually"]),
        ("It may, in general, share weights", ["may", "in general"]),
        ("It Can share and often does", ["can", "often"]),
        ("It cannot share weights, and can't tie them", []),  # refusals are not hedges
        (r"the bound $\text{may}$ hold", []),  # mathematics is not searched
        ("a maybe-tied, capable layer", []),  # whole words only
    ],
)
def test_hedges_are_whole_words_of_the_prose(latex, found):
    assert hedges(latex) == found


def test_only_the_correct_choice_hedges(tmp_path):
    text = ITEM.replace("A convolutional layer slides one filter over the image.", "A convolutional layer usually slides one filter.")
    path, tells = tells_of(tmp_path, text)
    assert tells == [
        f"{path}: line 10: item 'which-layer': choices[0]: only the correct choice hedges (usually); students pick the "
        "cautious statement: word it plainly, or hedge a distractor too"
    ]
    both = text.replace("A fully connected layer ties weights across rows.", "A fully connected layer can tie weights across rows.")
    assert tells_of(tmp_path, both)[1] == []


@pytest.mark.parametrize("choice", ["None of the above", "all of the above.", "Both of the above", "Neither A nor B", "All of these"])
def test_a_choice_that_points_at_the_others(tmp_path, choice):
    text = ITEM.replace("A softmax layer normalises weights over the classes.", choice)
    path, tells = tells_of(tmp_path, text)
    assert tells == [
        f"{path}: line 14: item 'which-layer': choices[2]: {choice.rstrip('.')!r} points at other choices, which are "
        "shuffled per version (and it is a guess that often pays); write a choice that stands on its own"
    ]


@pytest.mark.parametrize("choice", ["All of these layers share weights.", "Either $A$ or $B$ is singular.", "None of the filters is shared."])
def test_a_choice_that_only_sounds_like_it(tmp_path, choice):
    assert tells_of(tmp_path, ITEM.replace("A softmax layer normalises weights over the classes.", choice))[1] == []


def test_several_tells_of_one_item_are_one_line_each(tmp_path):
    text = ITEM.replace(
        "A convolutional layer slides one filter over the image.",
        r"A convolutional layer typically slides one small filter $w$ over every position of the image, patch by patch.",
    ).replace("A softmax layer normalises weights over the classes.", "None of the above")
    _, tells = tells_of(tmp_path, text)
    assert [t.split(": ", 4)[3] for t in tells] == ["choices[0]", "choices[0]", "choices[0]", "choices[2]"]
    assert all("\n" not in t for t in tells)


def test_flow_style_choices_name_their_own_lines(tmp_path):
    text = ITEM.replace(
        """    - text: A convolutional layer slides one filter over the image.
      correct: true
    - text: A fully connected layer ties weights across rows.
      correct: false
""",
        """    - {text: A fully connected layer ties weights across rows., correct: false}
    - {text: None of the above, correct: true}
""",
    )
    path, tells = tells_of(tmp_path, text)
    assert tells == [
        f"{path}: line 11: item 'which-layer': choices[1]: 'None of the above' points at other choices, which are "
        "shuffled per version (and it is a guess that often pays); write a choice that stands on its own"
    ]


def test_the_shipped_bank_has_no_tells():
    bank = load_bank()
    chosen = [item for item in bank.items.values() if item.kind == "multiple-choice"]
    assert len(chosen) >= 10
    assert [tell for item in chosen for tell in choice_tells(item)] == []
    assert longest_correct_note(chosen) is None


def test_in_the_shipped_bank_the_correct_choice_is_rarely_the_longest():
    """No more often than chance would make it (about 1 in the number of choices)."""
    chosen = [item for item in load_bank().items.values() if item.kind == "multiple-choice"]
    longest = sum(correct_is_longest(item) for item in chosen)
    assert longest <= math.ceil(sum(1 / len(item.choices) for item in chosen))


def test_a_distractor_that_reads_as_nothing(tmp_path):
    # "{}" is text to the loader but nothing to a student: the ratio is then taken against 1 character
    _, tells = tells_of(tmp_path, ITEM.replace("A softmax layer normalises weights over the classes.", '"{}"').replace(
        "A fully connected layer ties weights across rows.", '"{}"'))
    assert len(tells) == 1 and "55.0 times as long as the longest distractor (55 vs 1 characters as read)" in tells[0]


def test_the_note_on_a_bank_where_the_longest_choice_is_right(tmp_path):
    blocks = []
    for n in range(4):
        blocks.append(
            ITEM.replace("id: which-layer", f"id: which-layer-{n}").replace(
                "A convolutional layer slides one filter over the image.",
                "A convolutional layer slides one small filter over every image.",
            )
        )
    path = tmp_path / "cnn.yaml"
    path.write_text("".join(blocks))
    items = load_items(path)
    assert [choice_tells(item) for item in items] == [[]] * 4  # 62 vs 52 characters: no single item warns
    assert longest_correct_note(items) == (
        "the correct choice is the longest in 4 of 4 multiple-choice items (chance would give about 1.3); "
        "students learn such a pattern"
    )


def test_qbank_bank_in_a_course_workspace_warns_about_the_course_s_items(tmp_path):
    course = tmp_path / "course"
    (course / "bank" / "items").mkdir(parents=True)
    (course / "qbank.yaml").write_text("course: Test course\n")
    path = course / "bank" / "items" / "cnn.yaml"
    path.write_text(ITEM.replace("A softmax layer normalises weights over the classes.", "All of the above"))
    proc = run_qbank("bank", cwd=course)
    assert proc.returncode == 0, proc.stderr
    warnings = [line for line in proc.stderr.splitlines() if "which-layer" in line]
    assert warnings == [
        f"warning: {path.resolve()}: line 14: item 'which-layer': choices[2]: 'All of the above' points at other "
        "choices, which are shuffled per version (and it is a guess that often pays); write a choice that stands on its own"
    ]
    assert "items, all valid" in proc.stderr.splitlines()[-1]
    # the built-in items are not listed, and have no tells to warn about either way
    everything = run_qbank("bank", "--include-builtin", cwd=course)
    assert [line for line in everything.stderr.splitlines() if "choices[" in line] == warnings
