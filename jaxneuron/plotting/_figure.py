"""How every figure function ends: save and close it, or hand it back for a notebook."""

from __future__ import annotations

import matplotlib.pyplot as plt


def finish(fig, path=None, *, title: str | None = None):
    """Lay out `fig` (with `title` as its suptitle, if given; a figure with its own layout
    engine, e.g. `layout="constrained"`, keeps it). With `path`, write it as a
    PNG (120 dpi), close it and return `path`; without, return the figure, which a notebook
    shows inline once as a cell's value (it is detached from pyplot, so the inline backend
    does not show it a second time; `display(fig)` or `fig.savefig` still work)."""
    if title:
        fig.suptitle(title)
    if fig.get_layout_engine() is None:
        fig.tight_layout()
    if path is None:
        plt.close(fig)
        return fig
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
