"""What feedback may carry: the sanitiser's rules on their own (the hostile suite tries them end to end)."""

import pytest

from autograder.nbgrader_plugins import _clean_data, clean_latex, clean_markdown


@pytest.mark.parametrize("tex", [
    r"$\href{javascript:alert(1)}{click}$",
    r"\url{javascript:alert(2)}",
    r"$\class{x}{\style{color:red}{y}}$",
    r"\newcommand{\go}{\href} \go{javascript:alert(3)}{z}",
    r"\\href{javascript:alert(4)}{w}",
    r"$\require{action}\unicode{x41}\cssId{i}{1}\data{a=1}{2}$",
])
def test_tex_that_makes_links_loads_code_or_sets_attributes_is_disarmed(tex):
    cleaned = clean_latex(tex)
    for command in ("href", "url", "class", "style", "require", "unicode", "cssId", "data{"):
        assert f"\\{command}" not in cleaned, cleaned


def test_ordinary_maths_is_left_alone():
    tex = r"$h_t = \tanh(W_{hh} h_{t-1} + W_{ih} x_t)$, $\frac{\partial L}{\partial h_0}$, $\text{loss}$, $\hat y$"
    assert clean_latex(tex) == tex
    assert clean_markdown("**Lesson** $\\sigma(x)$ [a](https://example.org)") == \
        "**Lesson** $\\sigma(x)$ [a](https://example.org)"


def test_latex_markdown_and_html_outputs_lose_active_tex():
    data = {"text/latex": r"$\href{javascript:alert(5)}{x}$", "text/markdown": r"$\href{javascript:alert(6)}{y}$",
            "text/html": r"<p>$\href{javascript:alert(7)}{z}$</p>", "text/plain": "x"}
    _clean_data(data)
    assert not any("\\href" in value for value in data.values()), data
    assert data["text/plain"] == "x"
