import pytest

from course_utils.tables import markdown_table, scientific


def test_a_table_has_a_header_a_rule_and_one_line_per_row():
    text = markdown_table(["run", "W1"], [["clip | 0.01", 0.12345], ["GP", 2]], fmt=".3f").data
    lines = text.splitlines()
    assert lines[0] == "| run | W1 |"
    assert lines[1] == "|:--|--:|"                      # text left, numbers right
    assert lines[2] == r"| clip \| 0.01 | 0.123 |"        # a pipe in a cell is escaped
    assert lines[3] == "| GP | 2.000 |"
    assert len(lines) == 4


def test_caption_and_alignment():
    text = markdown_table(["a", "b"], [[1, 2]], align="cl", caption="*n = 2*").data
    assert text.splitlines()[1] == "|:-:|:--|" and text.endswith("\n\n*n = 2*")


@pytest.mark.parametrize("header, rows, align, message", [
    ([], [], None, "at least one column"),
    (["a", "b"], [[1]], None, "row 0 has 1 cells for 2 columns"),
    (["a"], [[1]], "x", "one of l, c, r"),
    (["a"], [[1]], "ll", "one of l, c, r"),
])
def test_bad_tables_are_errors(header, rows, align, message):
    with pytest.raises(ValueError, match=message):
        markdown_table(header, rows, align=align)


def test_scientific_writes_powers_of_ten_as_math():
    assert scientific(5.9123e-5) == r"$5.91 \cdot 10^{-5}$"
    assert scientific(8e-4, 1) == r"$8 \cdot 10^{-4}$"
    assert scientific(1.6499) == "1.65"                        # no 10^0
    assert scientific(1.6499, prefix=r"\times ") == r"$\times 1.65$"
    assert scientific(35444.2, prefix=r"\times ") == r"$\times 3.54 \cdot 10^{4}$"
    assert scientific(float("inf")) == "inf"
    with pytest.raises(ValueError, match="digits must be at least 1"):
        scientific(1.0, 0)
