"""PNG figures (matplotlib, no display needed): the paper's Fig. 2 and Fig. 3 shapes, a score per
round with one line per series and the baselines as horizontal lines."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def score_chart(path: str | Path, x: list[int], series: dict[str, list[float]], baselines: dict[str, float], *,
                title: str, ylabel: str = "Score = BLEU / BLEU(θ_HQ)", xlabel: str = "rounds trained") -> None:
    fig, ax = plt.subplots(figsize=(6.4, 4.0), dpi=120)
    for name, ys in series.items():
        ax.plot(x, ys, marker="o", label=name)
    for (name, y), style in zip(baselines.items(), ["--", ":", "-.", (0, (5, 1)), (0, (1, 3))] * 4):
        ax.axhline(y, linestyle=style, color="gray" if name.startswith("θ_0") else None, label=name)
    _label(ax, title, xlabel, ylabel, x)
    _save(fig, path)


def _label(ax, title: str, xlabel: str, ylabel: str, x: list[int]) -> None:
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel, xticks=x)
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small")


def _save(fig, path: str | Path) -> None:
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)


def interval_panels(path: str | Path, x: list[int], rows: list[dict], panels: list[dict]) -> None:
    """Side-by-side panels of per-round figures with their 95% intervals as error bars. Each panel:
    {title, ylabel, series: {label: key in rows (rows also hold key_low, key_high)}, baselines: {label: y}}."""
    fig, axes = plt.subplots(1, len(panels), figsize=(6.0 * len(panels), 4.0), dpi=120, squeeze=False)
    for ax, panel in zip(axes[0], panels):
        for label, key in panel["series"].items():
            ys = [r[key] for r in rows]
            below = [y - r.get(f"{key}_low", y) for y, r in zip(ys, rows)]
            above = [r.get(f"{key}_high", y) - y for y, r in zip(ys, rows)]
            ax.errorbar(x, ys, yerr=[below, above], marker="o", capsize=4, label=f"{label} (95% interval)")
        for (label, y), style in zip(panel["baselines"].items(), ["--", ":", "-.", (0, (5, 1))] * 4):
            ax.axhline(y, linestyle=style, color="gray" if label.startswith("chance") else None, label=label)
        _label(ax, panel["title"], "rounds trained", panel["ylabel"], x)
    _save(fig, path)
