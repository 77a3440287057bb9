"""Pictures of the lessons: tanh saturation, the LSTM step and its backward pass, the GRU step,
sliding windows with a time-ordered split, and recursive versus direct forecasting, drawn with matplotlib.

``python -m autograder.diagrams [--out DIR]`` writes ``tanh_saturation.svg`` into ``solutions/03_bptt/``,
``lstm_cell.svg`` and ``lstm_backward.svg`` into ``solutions/04_lstm/``, ``gru_cell.svg`` into
``solutions/05_gru/``, ``sliding_windows.svg`` into ``solutions/06_training/`` and
``recursive_vs_direct.svg`` into ``solutions/07_forecasting/`` (or all of them into DIR), where the
lessons' markdown cells show them. The output is deterministic: the same matplotlib gives
byte-identical files (``tests/test_diagrams.py`` checks the committed ones against a fresh render).

Symbols and equations are those of the lessons that show the pictures; the cells follow PyTorch's
gate order (LSTM i, f, g, o; GRU r, z, n). Colours are Okabe & Ito's colour-blind-safe palette.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib
import numpy as np

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.patches import Circle, FancyBboxPatch, Rectangle  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = ROOT / "solutions"

# Okabe & Ito (2008)
BLUE, ORANGE, GREEN, VERMILLION = "#0072B2", "#E69F00", "#009E73", "#D55E00"
PURPLE, SKY, GREY, BLACK = "#CC79A7", "#56B4E9", "#8C8C8C", "#000000"
FADED = "#C8C8C8"

WIDTH, HEIGHT = 8.0, 3.5   # inches, and data units: 1 unit = 1 inch
R = 0.13                   # radius of the x and + nodes


def _style():
    plt.rcParams.update({
        "svg.hashsalt": "rnn-course-diagrams",   # fixed ids inside the SVG: byte-identical re-runs
        "svg.fonttype": "path",                  # text as paths: no font needed to view it
        "font.size": 10,
        "mathtext.fontset": "dejavusans",
    })


def _figure(title, height=HEIGHT):
    fig = plt.figure(figsize=(WIDTH, height))
    ax = fig.add_axes([0, 0, 1, 1])
    ax.set_xlim(0, WIDTH)
    ax.set_ylim(-0.4, height - 0.4)
    ax.set_aspect("equal")
    ax.axis("off")
    ax.text(WIDTH / 2, height - 0.6, title, ha="center", va="center", fontsize=11, fontweight="bold")
    return fig, ax


def _save(fig, out, stem, fmt):
    path = Path(out) / f"{stem}.{fmt}"
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format=fmt, metadata={"Date": None} if fmt == "svg" else None,
                dpi=150 if fmt == "png" else None)
    plt.close(fig)
    return path


# ---------------------------------------------------------------- primitives

def line(ax, pts, color=BLACK, lw=1.4, ls="-", arrow=True, z=2, halo=False):
    """A polyline through pts; an arrow head at its last point."""
    xs, ys = zip(*pts)
    if halo:   # a white band under the line, so that a line it crosses shows a gap (a bridge)
        ax.plot(xs, ys, color="white", lw=lw + 6, solid_capstyle="butt", zorder=z - 0.1)
    if arrow:
        ax.plot(xs[:-1] + (xs[-1],), ys[:-1] + (ys[-1],), color=color, lw=lw, ls=ls, zorder=z,
                solid_capstyle="butt")
        ax.annotate("", xy=pts[-1], xytext=pts[-2], zorder=z,
                    arrowprops=dict(arrowstyle="-|>,head_length=0.5,head_width=0.25", color=color,
                                    lw=lw, shrinkA=0, shrinkB=0, ls="-"))
    else:
        ax.plot(xs, ys, color=color, lw=lw, ls=ls, zorder=z, solid_capstyle="butt")


def box(ax, xy, w, h, text, ec=BLACK, fc="white", fontsize=10, lw=1.4, color=BLACK, z=3):
    x, y = xy
    ax.add_patch(FancyBboxPatch((x - w / 2, y - h / 2), w, h, boxstyle="round,pad=0,rounding_size=0.06",
                                ec=ec, fc=fc, lw=lw, zorder=z))
    ax.text(x, y, text, ha="center", va="center", fontsize=fontsize, color=color, zorder=z + 0.1)


def node(ax, xy, op, ec=BLACK, lw=1.4, z=4):
    ax.add_patch(Circle(xy, R, ec=ec, fc="white", lw=lw, zorder=z))
    ax.text(xy[0], xy[1] - 0.01, {"*": "×", "+": "+"}[op], ha="center", va="center", fontsize=12,
            color=ec, zorder=z + 0.1)


def bracket(ax, xa, xb, y, tick, color=BLACK, lw=1.4):
    """A square bracket from xa to xb at height y, its ends bent by ``tick`` (up > 0, down < 0)."""
    line(ax, [(xa, y + tick), (xa, y), (xb, y), (xb, y + tick)], color, lw=lw, arrow=False)


def label(ax, xy, text, color=BLACK, fontsize=10, ha="center", va="center", z=5, **kw):
    ax.text(*xy, text, ha=ha, va=va, fontsize=fontsize, color=color, zorder=z, **kw)


def split_bar(ax, x0, y, widths, texts, ec=BLACK, h=0.3, fontsize=9, color=BLACK):
    """A bar of adjacent cells (the blocks of a stacked pre-activation); returns the cell centres."""
    centres, x = [], x0
    for w, t in zip(widths, texts):
        ax.add_patch(Rectangle((x, y - h / 2), w, h, ec=ec, fc="white", lw=1.2, zorder=3))
        ax.text(x + w / 2, y, t, ha="center", va="center", fontsize=fontsize, color=color, zorder=3.1)
        centres.append(x + w / 2)
        x += w
    return centres


# ---------------------------------------------------------------- the LSTM step

# geometry shared by the forward and the backward picture
CELL_Y, GATE_Y, BAR_Y, AFF_Y = 2.6, 1.2, 0.62, 0.2
XI, XF, XG, XO = 2.05, 2.95, 3.85, 4.75          # centres of the blocks i, f, g, o
BAR_X0, BAR_W = 1.6, 0.9
X_TANH, X_OUT = 6.05, 6.05                        # tanh(c_t) and o_t * tanh(c_t)
IG_Y = 1.95                                       # height of the i * g product
LEFT, RIGHT = 0.85, 7.25                          # where the states enter and leave


def _lstm(ax, faded=False):
    """Draw the forward LSTM step; in grey when faded (the backward picture lies on top of it)."""
    k = (lambda c: FADED) if faded else (lambda c: c)
    ink = k(BLACK)
    txt = GREY if faded else BLACK
    # the cell path: a straight, thick line along the top
    line(ax, [(LEFT, CELL_Y), (XF - R, CELL_Y)], k(BLUE), lw=4, arrow=False)
    line(ax, [(XF + R, CELL_Y), (XG - R, CELL_Y)], k(BLUE), lw=4, arrow=False)
    line(ax, [(XG + R, CELL_Y), (RIGHT, CELL_Y)], k(BLUE), lw=4)
    node(ax, (XF, CELL_Y), "*", ec=k(BLUE), lw=2)
    node(ax, (XG, CELL_Y), "+", ec=k(BLUE), lw=2)
    label(ax, (LEFT - 0.12, CELL_Y), r"$c_{t-1}$", k(BLUE), 12, ha="right")
    label(ax, (RIGHT + 0.08, CELL_Y), r"$c_t$", k(BLUE), 12, ha="left")
    # the pre-activations: one affine map, split into the blocks i | f | g | o
    aff_w = 4 * BAR_W
    box(ax, (BAR_X0 + aff_w / 2, AFF_Y), aff_w, 0.42,
        r"$a_t = x_t W_{ih}^\top + b_{ih} + h_{t-1} W_{hh}^\top + b_{hh}$", ec=ink, color=txt)
    split_bar(ax, BAR_X0, BAR_Y, [BAR_W] * 4,
              [r"$a^i_t$  0:H", r"$a^f_t$  H:2H", r"$a^g_t$  2H:3H", r"$a^o_t$  3H:4H"], ec=ink, color=txt)
    line(ax, [(LEFT, 0.32), (BAR_X0, 0.32)], ink)
    line(ax, [(LEFT, 0.08), (BAR_X0, 0.08)], ink)
    label(ax, (LEFT - 0.12, 0.32), r"$h_{t-1}$", txt, 12, ha="right")
    label(ax, (LEFT - 0.12, 0.06), r"$x_t$", txt, 12, ha="right")
    # the non-linearities
    for x, name, fn in [(XI, "i", r"$\sigma$"), (XF, "f", r"$\sigma$"), (XG, "g", r"$\tanh$"),
                        (XO, "o", r"$\sigma$")]:
        col = k(GREEN) if name == "g" else k(ORANGE)
        line(ax, [(x, BAR_Y + 0.15), (x, GATE_Y - 0.17)], ink)
        box(ax, (x, GATE_Y), 0.5 if name == "g" else 0.36, 0.34, fn, ec=col, lw=2, color=txt)
    # f_t: straight up to the x on the cell path
    line(ax, [(XF, GATE_Y + 0.17), (XF, CELL_Y - R)], k(ORANGE), halo=True, z=2.5)
    label(ax, (XF + 0.06, 2.25), r"$f_t$", txt, 11, ha="left")
    # i_t * g_t, then up to the +
    line(ax, [(XI, GATE_Y + 0.17), (XI, IG_Y), (XG - R, IG_Y)], k(ORANGE), z=2)
    label(ax, (XI - 0.06, 1.62), r"$i_t$", txt, 11, ha="right")
    line(ax, [(XG, GATE_Y + 0.17), (XG, IG_Y - R)], k(GREEN))
    label(ax, (XG + 0.06, 1.58), r"$g_t$", txt, 11, ha="left")
    node(ax, (XG, IG_Y), "*", ec=ink)
    line(ax, [(XG, IG_Y + R), (XG, CELL_Y - R)], ink)
    label(ax, (XG + 0.08, 2.27), r"$i_t\odot g_t$", txt, 10, ha="left")
    # the output: h_t = o_t * tanh(c_t)
    line(ax, [(X_TANH, CELL_Y), (X_TANH, 2.07)], k(BLUE), lw=1.6)
    box(ax, (X_TANH, 1.9), 0.62, 0.34, r"$\tanh$", ec=k(GREEN), lw=2, color=txt)
    line(ax, [(X_OUT, 1.73), (X_OUT, GATE_Y + R)], ink)
    label(ax, (X_OUT + 0.08, 1.56), r"$\tanh(c_t)$", txt, 10, ha="left")
    line(ax, [(XO + 0.18, GATE_Y), (X_OUT - R, GATE_Y)], k(ORANGE))
    label(ax, ((XO + X_OUT) / 2, GATE_Y + 0.13), r"$o_t$", txt, 11)
    node(ax, (X_OUT, GATE_Y), "*", ec=ink)
    line(ax, [(X_OUT + R, GATE_Y), (RIGHT, GATE_Y)], k(VERMILLION), lw=2.2)
    label(ax, (RIGHT + 0.08, GATE_Y), r"$h_t$", k(VERMILLION), 12, ha="left")


def lstm_cell(out: Path, fmt: str = "svg") -> Path:
    _style()
    fig, ax = _figure("One LSTM step: the cell state $c$ runs straight along the top", height=HEIGHT + 0.3)
    _lstm(ax)
    label(ax, (4.9, CELL_Y + 0.22), r"$c_t = f_t\odot c_{t-1} + i_t\odot g_t$", BLUE, 10)
    label(ax, (6.25, 0.62), r"$h_t = o_t\odot\tanh(c_t)$", VERMILLION, 10, ha="left")
    label(ax, (6.25, 0.22), "orange: gates $\\sigma\\in(0,1)$\ngreen: $\\tanh\\in(-1,1)$", GREY, 8.5,
          ha="left", linespacing=1.5)
    return _save(fig, out, "lstm_cell", fmt)


def _backward_picture(out, fmt, stem, title, draw, formulas):
    """A backward pass drawn over a faded cell by ``draw(ax, say)``. ``say(written, blank)`` gives the
    formula, or with ``formulas`` False the blank: names only, where each gradient flows but not what it
    equals (the picture shown before the exercise; the one with formulas follows the graded cell)."""
    _style()
    fig, ax = _figure(title, height=HEIGHT + 0.5)
    draw(ax, lambda written, blank: written if formulas else blank)
    return _save(fig, out, stem, fmt)


def lstm_backward(out: Path, fmt: str = "svg") -> Path:
    return _backward_picture(out, fmt, "lstm_backward", r"Backward through one LSTM step: along the cell, "
                             r"$\bar c$ is only multiplied by $f_t$", _lstm_backward, formulas=True)


def lstm_backward_streams(out: Path, fmt: str = "svg") -> Path:
    return _backward_picture(out, fmt, "lstm_backward_streams", r"Backward through one LSTM step: which way "
                             r"$\bar c$ and $\bar h$ flow (you derive the rest)", _lstm_backward, formulas=False)


def _lstm_backward(ax, say):
    """The two streams, dc along the cell and dh through the gates, over a faded LSTM cell."""
    _lstm(ax, faded=True)
    dc, dh = BLUE, VERMILLION
    # the dc stream, right to left just above the cell path: joined by what comes through h_t, times f_t
    y = CELL_Y + 0.2
    line(ax, [(RIGHT, y), (LEFT, y)], dc, lw=2.4, ls="--", z=6)
    label(ax, (RIGHT + 0.08, y + 0.02), r"$\bar c_t$", dc, 12, ha="left")
    label(ax, (RIGHT - 0.45, y + 0.2), "from step $t+1$", dc, 8.5)
    label(ax, ((XG + X_TANH) / 2 + 0.1, y + 0.22), r"$\bar c_t^{\,\mathrm{tot}}$ (sum of both)", dc, 10)
    label(ax, (LEFT - 0.1, y + 0.24), say(r"$\bar c_{t-1} = \bar c_t^{\,\mathrm{tot}}\odot f_t$",
                                          r"$\bar c_{t-1} = ?$"), dc, 10.5, ha="left")
    # the dh stream, right to left just below h_t: into the cell stream through tanh(c_t), and into o
    xb = X_TANH + 0.22
    hy = GATE_Y - 0.2
    line(ax, [(RIGHT, hy), (xb, hy), (xb, y - 0.03)], dh, lw=2.2, ls="--", z=6)
    label(ax, (RIGHT + 0.08, hy - 0.03), r"$\bar h_t$", dh, 12, ha="left")
    label(ax, (RIGHT + 0.06, hy - 0.36), "loss,\nstep $t+1$", dh, 8, ha="left", linespacing=1.2)
    label(ax, (xb + 0.07, 2.2), say(r"$+\,\bar h_t\odot o_t$" + "\n" + r"$\odot(1-\tanh^2 c_t)$",
                                    "+ ?  (through\n" + r"$\tanh(c_t)$)"), dh, 9.5, ha="left", linespacing=1.4)
    line(ax, [(X_OUT - R - 0.02, GATE_Y - 0.09), (XO + 0.19, GATE_Y - 0.09)], dh, lw=2.2, ls="--", z=6)
    label(ax, (5.25, hy - 0.15), say(r"$\bar o = \bar h_t\odot\tanh(c_t)$", r"$\bar o = ?$"), dh, 9.5,
          ha="left")
    # the cell's gradient hands each factor of a product the other factor
    for x, name in [(XI, "i"), (XF, "f"), (XG, "g")]:
        line(ax, [(x + 0.2, y - 0.03), (x + 0.2, GATE_Y + 0.19)], dc, lw=2, ls="--", z=6)
        label(ax, (x + 0.25, GATE_Y + 0.62), rf"$\bar {name}$", dc, 10.5, ha="left", z=7)
    label(ax, (0.05, 1.78), say(r"$\bar i = \bar c_t^{\,\mathrm{tot}}\odot g_t$" + "\n"
                                + r"$\bar f = \bar c_t^{\,\mathrm{tot}}\odot c_{t-1}$" + "\n"
                                + r"$\bar g = \bar c_t^{\,\mathrm{tot}}\odot i_t$",
                                "each factor of a product\nreceives "
                                + r"$\bar c_t^{\,\mathrm{tot}}$" + " times\nthe other"),
          dc, 9.5, ha="left", linespacing=1.5)
    # through sigma' and tanh' into the stacked pre-activation gradient a-bar
    for x in (XI, XF, XG, XO):
        line(ax, [(x + 0.12, GATE_Y - 0.18), (x + 0.12, BAR_Y + 0.16)], dh, lw=1.8, ls="--", z=6)
    label(ax, (BAR_X0 + 2 * BAR_W, -0.2),
          r"$\bar a = [\,\bar a^i\mid\bar a^f\mid\bar a^g\mid\bar a^o\,]$ with "
          + say(r"$\sigma'=\sigma(1-\sigma)$, $\tanh'=1-\tanh^2$", r"$\sigma'$ and $\tanh'$"), dh, 9)
    # out of the affine map: to the inputs and to the parameters
    line(ax, [(BAR_X0, AFF_Y), (LEFT + 0.05, AFF_Y)], dh, lw=2.2, ls="--", z=6)
    label(ax, (0.05, 0.78), say(r"$\bar h_{t-1} = \bar a\,W_{hh}$" + "\n" + r"$\bar x_t = \bar a\,W_{ih}$",
                                r"$\bar h_{t-1} = ?$" + "\n" + r"$\bar x_t = ?$"), dh, 9.5, ha="left", linespacing=1.4)
    x1 = BAR_X0 + 4 * BAR_W
    line(ax, [(x1, AFF_Y), (x1 + 0.25, AFF_Y)], dh, lw=2.2, ls="--", z=6)
    label(ax, (x1 + 0.3, AFF_Y),
          say(r"$\bar W_{ih} = \bar a^\top x_t,\ \bar W_{hh} = \bar a^\top h_{t-1}$" + "\n\n"
              + r"$\bar b_{ih} = \bar b_{hh} = \sum_n \bar a_n$",
              r"$\bar W_{ih},\ \bar W_{hh},\ \bar b_{ih},\ \bar b_{hh}$ = ?"), dh, 9.5, ha="left", linespacing=1.1)


# ---------------------------------------------------------------- the GRU step

# geometry of the GRU pictures
G_TOP, G_LEFT, G_RIGHT = 2.6, 0.85, 7.35
G_XR, G_XZ, G_XHN, G_XIN = 2.05, 3.2, 4.15, 4.85          # cells r | z | n (h part, x part)
G_X0, G_WIDTHS = 1.45, [1.2, 1.1, 0.7, 0.7]
G_XZH, G_XMIX = 5.95, 7.0                                 # z * h, and (1 - z) * n with the +
G_ZY, G_NY, G_GY, G_BAR, G_AFF = 2.2, 1.75, 1.2, 0.62, 0.2
G_XTANH = 5.6


def gru_cell(out: Path, fmt: str = "svg") -> Path:
    _style()
    fig, ax = _figure(r"One GRU step: the state $h$ runs along the top, kept by $z$, overwritten by $1-z$")
    _gru(ax)
    label(ax, (5.45, 0.95), r"$n = \tanh(g_{i,n} + r\odot g_{h,n})$", BLACK, 9.5, ha="left")
    label(ax, (5.45, 0.55), r"$h' = (1-z)\odot n + z\odot h$", BLUE, 9.5, ha="left")
    label(ax, (5.45, 0.15), "keep: $z\\odot h$;  write: $(1-z)\\odot n$", GREY, 8.5, ha="left")
    return _save(fig, out, "gru_cell", fmt)


def _gru(ax, faded=False):
    """Draw the forward GRU step (PyTorch's convention); in grey when faded."""
    k = (lambda c: FADED) if faded else (lambda c: c)
    ink, txt = k(BLACK), (GREY if faded else BLACK)
    top, lft, right = G_TOP, G_LEFT, G_RIGHT
    xr, xz, xhn, xin, xzk, xmix = G_XR, G_XZ, G_XHN, G_XIN, G_XZH, G_XMIX
    zy, ny, gy, bar_y, aff_y = G_ZY, G_NY, G_GY, G_BAR, G_AFF
    # the state path
    line(ax, [(lft, top), (xzk - R, top)], k(BLUE), lw=4, arrow=False)
    line(ax, [(xzk + R, top), (xmix - R, top)], k(BLUE), lw=4, arrow=False)
    line(ax, [(xmix + R, top), (right, top)], k(BLUE), lw=4)
    node(ax, (xzk, top), "*", ec=k(BLUE), lw=2)
    node(ax, (xmix, top), "+", ec=k(BLUE), lw=2)
    label(ax, (lft - 0.12, top), r"$h$", k(BLUE), 12, ha="right")
    label(ax, (lft - 0.12, top - 0.25), r"$(h_{t-1})$", k(BLUE), 9, ha="right")
    label(ax, (right + 0.06, top), r"$h'$", k(BLUE), 12, ha="left")
    label(ax, (right + 0.06, top - 0.25), r"$(h_t)$", k(BLUE), 9, ha="left")
    # both inputs into the two affine maps
    line(ax, [(lft + 0.25, top), (lft + 0.25, 0.32), (G_X0, 0.32)], ink)
    line(ax, [(lft - 0.3, 0.08), (G_X0, 0.08)], ink)
    label(ax, (lft - 0.42, 0.06), r"$x$", txt, 12, ha="right")
    total = sum(G_WIDTHS)
    box(ax, (G_X0 + total / 2, aff_y), total, 0.42,
        r"$g_i = x\,W_{ih}^\top + b_{ih},\quad g_h = h\,W_{hh}^\top + b_{hh}$", fontsize=10, ec=ink, color=txt)
    split_bar(ax, G_X0, bar_y, G_WIDTHS, [r"$g_{i,r}+g_{h,r}$", r"$g_{i,z}+g_{h,z}$", r"$g_{h,n}$", r"$g_{i,n}$"],
              ec=ink, color=txt)
    # the gates
    for x in (xr, xz):
        line(ax, [(x, bar_y + 0.15), (x, gy - 0.17)], ink)
        box(ax, (x, gy), 0.36, 0.34, r"$\sigma$", ec=k(ORANGE), lw=2, color=txt)
    # z: up and right to the mixing (drawn over r's path, which passes under it)
    line(ax, [(xz, gy + 0.17), (xz, zy), (xzk, zy), (xzk, top - R)], k(ORANGE), halo=True, z=2.5)
    label(ax, (xz + 0.07, gy + 0.33), r"$z$", txt, 11, ha="left")
    line(ax, [(xzk, zy), (6.22, zy)], k(ORANGE))
    box(ax, (6.47, zy), 0.5, 0.3, r"$1-z$", ec=k(ORANGE), fontsize=9.5, color=txt)
    line(ax, [(6.72, zy), (xmix - R, zy)], k(ORANGE))
    # r: up, right under z, into r * g_{h,n}
    line(ax, [(xr, gy + 0.17), (xr, ny), (xhn - R, ny)], k(ORANGE), z=2)
    label(ax, (xr - 0.07, gy + 0.35), r"$r$", txt, 11, ha="right")
    line(ax, [(xhn, bar_y + 0.15), (xhn, ny - R)], ink)
    node(ax, (xhn, ny), "*", ec=ink)
    line(ax, [(xhn + R, ny), (xin - R, ny)], ink)
    line(ax, [(xin, bar_y + 0.15), (xin, ny - R)], ink)
    node(ax, (xin, ny), "+", ec=ink)
    label(ax, ((xhn + xin) / 2, ny + 0.22), r"$r\odot g_{h,n}$", txt, 9)
    line(ax, [(xin + R, ny), (G_XTANH - 0.3, ny)], ink)
    box(ax, (G_XTANH, ny), 0.6, 0.34, r"$\tanh$", ec=k(GREEN), lw=2, color=txt)
    # n: into (1 - z) * n, then up to the +
    line(ax, [(G_XTANH + 0.3, ny), (xmix, ny), (xmix, zy - R)], k(GREEN))
    label(ax, (6.45, ny - 0.15), r"$n$", txt, 11)
    node(ax, (xmix, zy), "*", ec=ink)
    line(ax, [(xmix, zy + R), (xmix, top - R)], ink)


def gru_backward_streams(out: Path, fmt: str = "svg") -> Path:
    return _backward_picture(out, fmt, "gru_backward_streams", r"Backward through one GRU step: where "
                             r"$\bar h'$ flows (you derive the rest)", _gru_backward, formulas=False)


def gru_backward(out: Path, fmt: str = "svg") -> Path:
    return _backward_picture(out, fmt, "gru_backward", r"Backward through one GRU step: the direct path "
                             r"hands $h$ the gradient $\bar h'\odot z$", _gru_backward, formulas=True)


def _gru_backward(ax, say):
    """The gradient of h' through one GRU step, over a faded GRU cell."""
    _gru(ax, faded=True)
    dh, dn = BLUE, VERMILLION
    y = G_TOP + 0.2
    # the direct path: h-bar' runs left along the top, through z * h, to h
    line(ax, [(G_RIGHT, y), (G_LEFT, y)], dh, lw=2.4, ls="--", z=6)
    label(ax, (G_RIGHT + 0.06, y + 0.05), r"$\bar h'$", dh, 12, ha="left")
    label(ax, (G_LEFT - 0.1, y + 0.24), say(r"$\bar h$ += $\bar h'\odot z$  (direct path)",
                                            r"$\bar h$ += ?  (direct path)"), dh, 10.5, ha="left")
    # into the candidate: down through (1 - z) * n to the tanh, then to the + and the * of r
    xm = G_XMIX + 0.18
    line(ax, [(xm, y - 0.03), (xm, G_NY - 0.2), (G_XTANH + 0.1, G_NY - 0.2)], dn, lw=2.2, ls="--", z=6)
    label(ax, (xm - 0.06, 1.3), say(r"$\bar n = \bar h'\odot(1-z)$", r"$\bar n = ?$"), dn, 9.5, ha="right")
    line(ax, [(G_XTANH - 0.2, G_NY - 0.2), (G_XHN, G_NY - 0.2), (G_XHN, G_BAR + 0.16)], dn, lw=2, ls="--", z=6)
    line(ax, [(G_XIN + 0.15, G_NY - 0.2), (G_XIN + 0.15, G_BAR + 0.16)], dn, lw=2, ls="--", z=6)
    label(ax, (G_XIN + 0.22, 0.98), say(r"$\bar a_n = \bar n\odot(1-n^2)$", r"$\bar a_n = ?$"), dn, 9.5,
          ha="left")
    # to the reset gate: r-bar, then sigma'
    line(ax, [(G_XHN - 0.15, G_NY - 0.2), (G_XR + 0.15, G_NY - 0.2), (G_XR + 0.15, G_GY + 0.19)], dn, lw=2,
         ls="--", z=6)
    label(ax, (G_XR - 0.95, 1.98), say(r"$\bar r = \bar a_n\odot g_{h,n}$" + "\n" + r"$\bar g_{h,n} = \bar a_n\odot r$",
                                      r"$\bar r = ?$" + "\n" + r"$\bar g_{h,n} = ?$"), dn, 9.5, ha="left",
          linespacing=1.4)
    # to the update gate: z-bar from the mixing
    line(ax, [(G_XZH + 0.15, y - 0.03), (G_XZH + 0.15, G_ZY + 0.15), (G_XZ - 0.1, G_ZY + 0.15),
              (G_XZ - 0.1, G_GY + 0.19)], ORANGE, lw=2, ls="--", z=6)
    label(ax, (G_XZ + 0.25, G_ZY + 0.32), say(r"$\bar z = \bar h'\odot(h-n)$", r"$\bar z = ?$"), ORANGE, 9.5,
          ha="left")
    for x in (G_XR, G_XZ):
        line(ax, [(x + 0.12, G_GY - 0.18), (x + 0.12, G_BAR + 0.16)], dn, lw=1.8, ls="--", z=6)
    label(ax, (G_X0, -0.2), say(r"$\bar g_i = [\,\bar a_r\mid\bar a_z\mid\bar a_n\,]$,  "
                                r"$\bar g_h = [\,\bar a_r\mid\bar a_z\mid r\odot\bar a_n\,]$,  "
                                r"$\bar a_r = \bar r\odot r(1-r)$",
                                r"$\bar g_i$, $\bar g_h$: the block gradients, through $\sigma'$ and $\tanh'$"),
          dn, 9, ha="left")
    # out of the affine maps: to x, to h (the second route) and to the parameters
    x_end = G_X0 + sum(G_WIDTHS)
    line(ax, [(G_X0, G_AFF), (G_LEFT + 0.35, G_AFF)], dn, lw=2.2, ls="--", z=6)
    label(ax, (0.02, 0.9), say(r"$\bar x = \bar g_i W_{ih}$" + "\n" + r"$\bar h$ += $\bar g_h W_{hh}$",
                               r"$\bar x = ?$" + "\n" + r"$\bar h$ += ?"), dn, 9.5, ha="left",
          linespacing=1.4)
    line(ax, [(x_end, G_AFF), (x_end + 0.2, G_AFF)], dn, lw=2.2, ls="--", z=6)
    label(ax, (x_end + 0.25, G_AFF), say(r"$\bar W_{ih} = \bar g_i^\top x,\ \bar W_{hh} = \bar g_h^\top h$",
                                         r"$\bar W_{ih},\ \bar W_{hh},\ \bar b_{ih},\ \bar b_{hh}$ = ?"),
          dn, 9.5, ha="left")


# ---------------------------------------------------------------- lesson 03: tanh saturation

def tanh_saturation(out: Path, fmt: str = "svg") -> Path:
    """tanh and its slope 1 - tanh^2 on one axis, the saturated range |a| > 2 shaded."""
    _style()
    fig = plt.figure(figsize=(WIDTH, 3.0))
    ax = fig.add_axes([0.08, 0.16, 0.9, 0.68])
    fig.text(0.5, 0.93, r"A saturated tanh unit passes almost no gradient back: $\bar a = \bar h\odot(1-h^2)$",
             ha="center", va="center", fontsize=11, fontweight="bold")
    a = np.linspace(-4, 4, 401)
    h = np.tanh(a)
    for lo, hi in ((-4, -2), (2, 4)):
        ax.axvspan(lo, hi, color=FADED, alpha=0.45, lw=0, zorder=0)
    ax.axhline(0, color=GREY, lw=0.8, zorder=1)
    ax.plot(a, h, color=BLUE, lw=2.2, zorder=3, label=r"$h = \tanh(a)$")
    ax.plot(a, 1 - h ** 2, color=VERMILLION, lw=2.2, ls="--", zorder=3, label=r"$\tanh'(a) = 1-h^2$")
    s2 = 1 - np.tanh(2.0) ** 2
    for x in (-2.0, 2.0):
        ax.plot([x], [s2], "o", color=VERMILLION, ms=5, zorder=4)
    ax.text(-3.0, 0.42, "saturated\n$|a|>2$: $|h|>0.96$,\nslope $1-h^2<0.071$", ha="center", va="center",
            fontsize=9, color=BLACK, linespacing=1.3, zorder=5)
    ax.text(3.0, -0.42, "saturated\n$|a|>2$: $|h|>0.96$,\nslope $1-h^2<0.071$", ha="center", va="center",
            fontsize=9, color=BLACK, linespacing=1.3, zorder=5)
    ax.annotate("at $a=0$ the slope is 1:\nthe gradient passes whole", xy=(0.03, 0.0), xytext=(0.3, -0.27),
                fontsize=9, color=BLACK, ha="left", va="center", linespacing=1.3,
                arrowprops=dict(arrowstyle="-|>", color=BLACK, lw=1.0, shrinkA=2, shrinkB=2))
    ax.set_xlim(-4, 4)
    ax.set_ylim(-1.12, 1.12)
    ax.set_xticks(range(-4, 5))
    ax.set_yticks([-1, -0.5, 0, 0.5, 1])
    ax.set_xlabel(r"pre-activation $a$")
    ax.legend(loc="lower right", bbox_to_anchor=(0.745, 0.0), fontsize=9, frameon=True, framealpha=1)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    return _save(fig, out, "tanh_saturation", fmt)


# ---------------------------------------------------------------- lesson 06: windows and the split

def sliding_windows(out: Path, fmt: str = "svg") -> Path:
    """A series s_0..s_11, three windows of T = 3 with their targets, and the time-ordered split."""
    _style()
    fig, ax = _figure(r"Windows of $T=3$: each belongs to the split of its target $y_i = s_{i+T}$",
                      height=3.3)
    pitch, w, x0, row = 0.56, 0.48, 0.9, 1.75
    parts = [(r"training: the scaling $\mu,\sigma$ is fitted on $s_0,\dots,s_6$ only", 0, 6, BLUE),
             ("validation", 7, 9, ORANGE), ("test", 10, 11, VERMILLION)]
    colour = {}
    for _name, first, last, col in parts:
        for j in range(first, last + 1):
            colour[j] = col
    xc = lambda j: x0 + j * pitch                                   # noqa: E731
    for j in range(12):
        ax.add_patch(Rectangle((xc(j) - w / 2, row - w / 2), w, w, ec=colour[j], fc="white", lw=1.6, zorder=3))
        label(ax, (xc(j), row), rf"$s_{{{j}}}$", BLACK, 10)
    # the split, above the row
    yb = row + 0.42
    for name, first, last, col in parts:
        xa, xb = xc(first) - w / 2, xc(last) + w / 2
        bracket(ax, xa, xb, yb, -0.07, col, lw=1.6)
        label(ax, ((xa + xb) / 2, yb + 0.16), name, col, 9.5)
    label(ax, (0.12, row), "series", GREY, 9, ha="left")
    # three windows, below the row: (i, level, split colour of the target, text)
    def window(i, y, text):
        xa, xb = xc(i) - w / 2, xc(i + 2) + w / 2
        col = colour[i + 3]
        bracket(ax, xa, xb, y, 0.08, BLACK, lw=1.4)
        line(ax, [(xb, y), (xc(i + 3), y), (xc(i + 3), row - w / 2 - 0.03)], col, lw=1.6)
        label(ax, ((xa + xb) / 2, y - 0.17), text, BLACK, 9.5)
        ax.add_patch(Rectangle((xc(i + 3) - w / 2, row - w / 2), w, w, ec=col, fc="none", lw=3, zorder=3.5))
    window(0, 1.15, r"$X_0 \to y_0 = s_3$: training")
    window(5, 1.15, r"$X_5 \to y_5 = s_8$: validation")
    window(8, 0.55, r"$X_8 \to y_8 = s_{11}$: test")
    label(ax, (xc(5.6), 0.0), "($X_5$ reads $s_5, s_6$ from the training part: allowed, only the target counts)",
          GREY, 8.5)
    return _save(fig, out, "sliding_windows", fmt)


# ---------------------------------------------------------------- lesson 07: recursive vs direct

def recursive_vs_direct(out: Path, fmt: str = "svg") -> Path:
    """Two rows: a one-step model fed its own forecasts, and one model with H_f outputs."""
    _style()
    fig, ax = _figure(r"Recursive: one-step $f$ fed its own forecasts.  Direct: all $H_f$ steps at once",
                      height=3.7)
    pitch, w, hgt, x0 = 0.66, 0.6, 0.36, 0.55
    xc = lambda j: x0 + j * pitch                                   # noqa: E731
    obs = [r"$d_{o-3}$", r"$d_{o-2}$", r"$d_{o-1}$", r"$d_o$"]

    def cells(y, texts, first=0):
        for k, t in enumerate(texts):
            j = first + k
            forecast = j >= 4
            ax.add_patch(Rectangle((xc(j) - w / 2, y - hgt / 2), w, hgt, ec=ORANGE if forecast else BLUE,
                                   fc="white", lw=1.6, zorder=3))
            label(ax, (xc(j), y), t, BLACK, 9.5)

    def window(j0, j1, y, up, col=BLACK):
        xa, xb = xc(j0) - w / 2 + 0.03, xc(j1) + w / 2 - 0.03
        bracket(ax, xa, xb, y, -0.07 if up else 0.07, col, lw=1.3)
        return xa, xb

    # recursive: windows above the row, each arrow lands on the next cell
    ry = 1.7
    cells(ry, obs + [r"$\hat d_{o+1}$", r"$\hat d_{o+2}$", r"$\hat d_{o+3}$", r"$\cdots$"])
    for k in range(3):
        y = ry + 0.33 + 0.27 * k
        _, xb = window(k, k + 3, y, up=True)
        line(ax, [(xb, y), (xc(k + 4) - 0.05, y), (xc(k + 4) - 0.05, ry + hgt / 2 + 0.02)], VERMILLION, lw=1.5)
        label(ax, (xc(k + 4) + 0.03, y + 0.01), r"$f$", VERMILLION, 11, ha="left")
    label(ax, (0.05, ry + 0.95), "recursive", BLACK, 10.5, ha="left", fontweight="bold")
    xt = xc(7) + w / 2 + 0.2
    label(ax, (xt, ry + 0.45), "one model $f$, one output;\neach forecast enters the\nnext window, so step $h$\n"
          "rests on $h-1$ forecasts\n(steps 1, 2, 3 shown)", BLACK, 9, ha="left", va="center", linespacing=1.3)
    # direct: one window, one model, H_f outputs
    dy = 0.75
    cells(dy, obs + [r"$\hat d_{o+1}$", r"$\hat d_{o+2}$", r"$\cdots$", r"$\hat d_{o+H_f}$"])
    label(ax, (0.05, 0.0), "(window $T=4$ here)", GREY, 8.5, ha="left")
    label(ax, (0.05, dy + 0.5), "direct", BLACK, 10.5, ha="left", fontweight="bold")
    yb = dy - 0.33
    xa, xb = window(0, 3, yb, up=False)
    mx = (xc(4) + xc(7)) / 2
    box(ax, (mx, -0.05), 2.3, 0.34, r"$W^\top h_T + c$:  $H_f$ outputs", ec=VERMILLION, fontsize=9.5)
    line(ax, [((xa + xb) / 2, yb), ((xa + xb) / 2, -0.05), (mx - 1.15, -0.05)], VERMILLION, lw=1.5)
    for j in range(4, 8):
        line(ax, [(xc(j), 0.12), (xc(j), dy - hgt / 2 - 0.02)], VERMILLION, lw=1.3)
    label(ax, (xt, dy + 0.05), "one model, $H_f$ outputs at once\nfrom the observed window:\nno feedback, "
          "but each step\nis its own regression", BLACK, 9, ha="left", va="center", linespacing=1.3)
    return _save(fig, out, "recursive_vs_direct", fmt)


DIAGRAMS = {"03_bptt": [tanh_saturation], "04_lstm": [lstm_cell, lstm_backward_streams, lstm_backward],
            "05_gru": [gru_cell, gru_backward_streams, gru_backward], "06_training": [sliding_windows],
            "07_forecasting": [recursive_vs_direct]}


def render(out: Path | None = None, fmt: str = "svg") -> list[Path]:
    """Draw every diagram; into its lesson folder of solutions/, or all into ``out``."""
    written = []
    for lesson, functions in DIAGRAMS.items():
        folder = Path(out) if out is not None else SOLUTIONS / lesson
        for draw in functions:
            path = draw(folder, fmt)
            written.append(path)
    return written


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m autograder.diagrams", description=__doc__.split("\n")[0])
    parser.add_argument("--out", default=None, help="write all diagrams into this folder instead")
    parser.add_argument("--png", action="store_true", help="PNG instead of SVG (to look at them)")
    args = parser.parse_args(argv)
    for path in render(Path(args.out) if args.out else None, "png" if args.png else "svg"):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
