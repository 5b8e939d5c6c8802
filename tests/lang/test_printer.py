"""The canonical layout (resdsl.lang.printer): statements, spacing, line breaks, continuation
indents, blank lines, and a comment in every place one can stand."""

from __future__ import annotations

import textwrap

import pytest

from resdsl.formatting import format_text
from resdsl.lang.parse import parse
from resdsl.lang.printer import layout


def fmt(text: str) -> str:
    """The layout, held to idempotence and to the meaning check on every case."""
    out = format_text(textwrap.dedent(text), "t.res")
    assert layout(out) == out
    return out


def same(text: str) -> None:
    """``text`` is canonical as written."""
    text = textwrap.dedent(text)
    assert fmt(text) == text


# --- statements and bodies ---------------------------------------------------------------


def test_one_statement_a_line_and_four_spaces_a_body():
    assert fmt("network n{input 3x32x32 classes 10 stem{conv 3x3,16}head{avgpool fc}}") == (
        "network n {\n    input 3x32x32\n    classes 10\n    stem {\n        conv 3x3, 16\n"
        "    }\n    head {\n        avgpool\n        fc\n    }\n}\n"
    )


def test_indentation_as_written_is_replaced():
    assert fmt("network n {\n\t  input 3x32x32\n classes 10\n        }\n") == (
        "network n {\n    input 3x32x32\n    classes 10\n}\n"
    )


def test_an_empty_body_is_braces_and_a_with_s_stem_stays_on_its_line():
    assert fmt("network n {\n    head {\n    }\n}\n") == "network n {\n    head {}\n}\n"
    same("network t = r with input 3x64x64, classes 200, stem { conv 3x3, 64 }\n")


def test_definitions_branches_and_stems_are_bodies():
    assert fmt(
        "block se(ratio=16) as SE{let r=max(8,channels/ratio) branch scale{avgpool "
        "fc1: conv 1x1,r,bias sigmoid} multiply scale}\nstem tiny{conv 3x3,16}"
    ) == textwrap.dedent(
        """\
        block se(ratio = 16) as SE {
            let r = max(8, channels / ratio)
            branch scale {
                avgpool
                fc1: conv 1x1, r, bias
                sigmoid
            }
            multiply scale
        }
        stem tiny {
            conv 3x3, 16
        }
        """
    )


# --- spacing -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "canonical"),
    [
        ("network a = b ( n = 9 , m=2 )", "network a = b(n=9, m=2)"),  # a family's arguments
        ("block x=se( ratio=8 )", "block x = se(ratio = 8)"),  # a block's arguments
        ("block b(planes,stride=1){relu}", "block b(planes, stride = 1) {\n    relu\n}"),
        ("block b{let w=2*planes+- 1}", "block b {\n    let w = 2 * planes + -1\n}"),
        ("block b{let w=max (8,(c+4)/8*8)%3}",
         "block b {\n    let w = max(8, (c + 4) / 8 * 8) % 3\n}"),
        ("block b{downsample . 0 : conv 1x1,c,stride(s if s==1x1 else 1)}",
         "block b {\n    downsample.0: conv 1x1, c, stride (s if s == 1x1 else 1)\n}"),
        ("block b{require not(a>0 and b!=1) or c<=2:\"m\" \"n\"}",
         'block b {\n    require not (a > 0 and b != 1) or c <= 2: "m" "n"\n}'),
        ("network a = b with stage s:3 x 19 , w [ 47,52 , 64, ]",
         "network a = b with stage s: 3 x 19, w [47, 52, 64,]"),
        ("network n{input 3 x 32 x 32 block preact,dropout 0.3}",
         "network n {\n    input 3 x 32 x 32\n    block preact, dropout 0.3\n}"),
        ('use"cifar.res"', 'use "cifar.res"'),
    ],
)  # fmt: skip
def test_spacing(written, canonical):
    assert fmt(written) == canonical + "\n"


# --- line breaks inside a statement -------------------------------------------------------


def test_breaks_written_inside_a_statement_are_kept_and_reindented():
    written = "network r = b with stem deep, block bottleneck,\nzero init,\n          shortcut D\n"
    assert fmt(written) == (
        "network r = b with stem deep, block bottleneck,\n    zero init,\n    shortcut D\n"
    )


def test_a_line_never_starts_with_a_comma_a_colon_or_a_dot():
    written = "network r = b with block basic\n  , shortcut D\nnetwork s = b with stage a\n: 1 x 2"
    assert fmt(written) == (
        "network r = b with block basic,\n    shortcut D\nnetwork s = b with stage a:\n    1 x 2\n"
    )


def test_an_items_options_are_indented_under_it_and_brackets_under_their_line():
    same(
        """\
        network p = b with
            stage conv2_x: 3 x 26, width1 [45, 53, 60], unpruned 256,
            stage conv4_x: 23 x 278,
                width1 [101, 239, 234, 250, 253, 251,
                    254, 256],
                unpruned 1024,
            stage conv5_x: 3 x 2042
        """
    )
    assert fmt("network p = b with\nstage a: 3 x 2,\nw [1,\n2],\nstage b: 1 x 2\n") == (
        "network p = b with\n    stage a: 3 x 2,\n        w [1,\n            2],\n"
        "    stage b: 1 x 2\n"
    )


def test_a_closing_bracket_that_starts_a_line_is_indented_as_the_line_that_opened_it():
    same(
        """\
        block bottleneck(
            planes,
            stride = 1,
        ) as Bottleneck {
            doc "The stride sits on the first 1x1, as the paper."
                if stride_on == 1x1
            require width > 0: "a bottleneck of width {planes} "
                "has no channels"
        }
        """
    )


# --- comments ----------------------------------------------------------------------------

COMMENTED = """\
# above the file's first item

# above the network, after a blank line
network n {  # after the brace
    # first in the body
    input 3x32x32  # after a statement

    # between statements, after a blank line
    classes 10
    stem {
        conv 3x3, 16  # in a nested body
        # last in a nested body
    }  # after a closing brace
    head {
        # the only thing in a body
    }
    # last in the body
}
network d = n with block basic,  # after a comma
    # on its own line inside a statement
    shortcut A
block b(
    planes,  # a parameter's comment: the class attribute's
    # before a closing bracket
) {
    relu
}
# at the end of the file
"""


def test_comments_in_every_place_stay_there():
    same(COMMENTED)


def test_comments_move_with_their_statements_when_the_layout_changes():
    written = (
        "#top\n\n\n\n   # above n   \nnetwork n {   # brace\n\n  input 3x32x32 # in\n"
        "         # own line, deep\n classes 10 head {avgpool fc}}  # after n\n#end"
    )
    assert fmt(written) == textwrap.dedent(
        """\
        #top

        # above n
        network n {  # brace
            input 3x32x32  # in
            # own line, deep
            classes 10
            head {
                avgpool
                fc
            }
        }  # after n
        #end
        """
    )


def test_a_block_s_docstring_and_its_parameters_comments_are_kept():
    written = (
        "# Its docstring,\n# two lines.\nblock b(planes,   # the width\n  stride=1   # stride\n)"
        "{ relu }\n"
    )
    out = fmt(written)
    assert out.startswith("# Its docstring,\n# two lines.\nblock b(planes,  # the width\n")
    (block,) = parse(out, "t.res").items
    assert block.comments == ("Its docstring,", "two lines.")
    assert [p.comment for p in block.params] == ["the width", "stride"]


def test_a_comment_keeps_its_text_and_a_hash_in_a_string_is_no_comment():
    same('block b {\n    doc "# not a comment"  #   spaced  as written\n}\n')
    same("#no space\nnetwork a = b\n")


# --- blank lines and the file ------------------------------------------------------------


def test_blank_lines_between_items_are_one_and_none_at_the_edges_of_a_body():
    written = (
        "\n\nnetwork a = b\n\n\n\nnetwork c {\n\n\n  input 3x32x32\n\n\n  classes 10\n\n}\n\n\n"
    )
    assert fmt(written) == (
        "network a = b\n\nnetwork c {\n    input 3x32x32\n\n    classes 10\n}\n"
    )


def test_blank_lines_inside_a_statement_go():
    assert fmt("network a = b with block basic,\n\n\n    shortcut A\n") == (
        "network a = b with block basic,\n    shortcut A\n"
    )


def test_an_empty_file_stays_empty_and_a_file_of_comments_keeps_them():
    assert fmt("") == "" and fmt("\n\n  \n") == ""
    assert fmt("  # only a comment  \n\n\n# and another") == "# only a comment\n\n# and another\n"


def test_line_ends_and_a_byte_order_mark_become_the_parser_s():
    assert format_text("\ufeffnetwork a = b\r\nnetwork c = b\r", "t.res") == (
        "network a = b\nnetwork c = b\n"
    )
