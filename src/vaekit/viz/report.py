"""`RUN/report.html`: one self-contained page per training run.

The page holds the run's config, its final metrics and every picture in
`RUN/plots/`, each embedded as a base64 data URI, so the single file reads
offline in any browser, and still does after it is copied or mailed
elsewhere. It has no scripts and loads nothing from the network.
"""

import base64
import datetime
import html
import math
import os

import numpy as np

from vaekit import __version__, runs
from vaekit import io as vaekit_io
from vaekit.errors import RunFolderError

__all__ = ["build_report", "write_report"]

_MIME_TYPES = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".svg": "image/svg+xml",
}
# Pictures without an index entry keep this order, then come alphabetically.
_ORDER = (
    "training_curves",
    "kl_per_unit",
    "latent",
    "manifold",
    "samples",
    "reconstructions",
    "interpolation",
)
_METRIC_LABELS = {
    "elbo": "ELBO (nats per example)",
    "log_likelihood": "log p(x), importance-weighted (nats)",
    "log_likelihood_stderr": "log p(x) standard error",
    "reconstruction": "reconstruction, -E[log p(x|z)] (nats)",
    "kl": "KL(q(z|x) || p(z)) (nats)",
    "active_units": "active units",
    "iw_samples": "importance samples k",
    "n": "examples evaluated",
    "split": "evaluated on",
    "binarize": "binarization",
    "data": "data",
}
_HISTORY_LABELS = {
    "loss": "training loss",
    "reconstruction": "training reconstruction",
    "kl": "training KL",
    "val_loss": "validation loss",
    "val_reconstruction": "validation reconstruction",
    "val_kl": "validation KL",
    "active_units": "active units (training subset)",
}

_STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", Helvetica, Arial,
       sans-serif; margin: 2em auto; max-width: 1100px; padding: 0 1em;
       color: #222; background: #fff; line-height: 1.45; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; }
h2 { font-size: 1.25em; border-bottom: 1px solid #ddd; padding-bottom: 0.2em;
     margin-top: 1.8em; }
.meta { color: #666; font-size: 0.9em; }
table { border-collapse: collapse; margin: 0.5em 0; }
td, th { border: 1px solid #ddd; padding: 0.25em 0.7em; text-align: left;
         vertical-align: top; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
figure { margin: 1.2em 0 2em 0; }
figure img { max-width: 100%; height: auto; border: 1px solid #ddd; }
figure img.pixels { image-rendering: pixelated; }
figcaption { color: #444; font-size: 0.92em; max-width: 60em; }
figcaption b { color: #222; }
.columns { display: flex; flex-wrap: wrap; gap: 2em; }
.incomplete { background: #fff3cd; border: 1px solid #e0c36c; padding: 0.5em; }
"""


def _read_config(run):
    """The run's settings as `(key, value)` pairs, or None."""
    try:
        values = runs.read_config(run, missing_ok=True)
    except RunFolderError:
        return None
    return None if values is None else list(values.items())


def _format(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        return f"{value:.4f}" if abs(value) < 1e5 else f"{value:.4g}"
    if isinstance(value, (list, tuple)):
        return ", ".join(_format(v) for v in value)
    if value is None:
        return "-"
    return str(value)


def _setting(value):
    """A config value as written in config.toml (0.001, not 0.0010)."""
    if isinstance(value, float):
        return f"{value:g}"
    return _format(value)


def _table(pairs, fmt=_format):
    rows = []
    for key, value in pairs:
        number = isinstance(value, (int, float)) and not isinstance(value, bool)
        cls = ' class="num"' if number else ""
        rows.append(
            f"<tr><th>{html.escape(str(key))}</th>"
            f"<td{cls}>{html.escape(fmt(value))}</td></tr>"
        )
    return "<table>\n" + "\n".join(rows) + "\n</table>"


def _metrics_pairs(metrics):
    pairs = [(_METRIC_LABELS[k], metrics[k]) for k in _METRIC_LABELS if k in metrics]
    pairs += [(k, v) for k, v in sorted(metrics.items()) if k not in _METRIC_LABELS]
    return pairs


def _history_pairs(run):
    try:
        history = runs.read_history(run)
    except (OSError, ValueError, KeyError):
        return None
    if not history:
        return None
    pairs = []
    if "epoch" in history:
        pairs.append(("epochs trained", int(history["epoch"][-1])))
    if "seconds" in history:
        total = float(np.nansum(history["seconds"]))
        pairs.append(("training time (s)", f"{total:.1f}"))
    for key, label in _HISTORY_LABELS.items():
        if key in history and math.isfinite(history[key][-1]):
            value = float(history[key][-1])
            if key == "active_units":
                value = int(value)
            pairs.append((f"{label}, last epoch", value))
    return pairs


def _text(value, default):
    """A title or caption of `plots/index.json`: its text, or `default` for
    anything else (a hand-edited number, a list, null)."""
    return value if isinstance(value, str) and value else default


def _index_entries(run, present):
    """The usable entries of `plots/index.json` by file name: dicts naming a
    present picture; bad fields are left to the defaults."""
    pictures = runs.read_plots_index(run).get("pictures", [])
    if not isinstance(pictures, list):
        return {}
    return {
        e["file"]: e
        for e in pictures
        if isinstance(e, dict)
        and isinstance(e.get("file"), str)
        and e["file"] in present
    }


def _inside(path, folder):
    """Whether `path`, links resolved, is inside `folder`."""
    real, root = os.path.realpath(path), os.path.realpath(folder)
    return os.path.commonpath([real, root]) == root


def _picture_files(run):
    """The pictures of `RUN/plots/`: regular files of a known kind, not
    links, inside the run folder (a link to a file elsewhere is never
    embedded: the report of a run may be mailed)."""
    folder = runs.path(run, runs.PLOTS)
    if not os.path.isdir(folder) or not _inside(folder, run):
        return []
    return sorted(
        name
        for name in os.listdir(folder)
        if os.path.splitext(name)[1].lower() in _MIME_TYPES
        and not name.startswith(".")
        and not os.path.islink(os.path.join(folder, name))
        and os.path.isfile(os.path.join(folder, name))
        and _inside(os.path.join(folder, name), run)
    )


def _pictures(run):
    """`(path, title, caption, pixels)` of every picture in `RUN/plots/`, in the
    order of `plots/index.json`, then of `_ORDER`, then alphabetical."""
    folder = runs.path(run, runs.PLOTS)
    present = _picture_files(run)
    entries = _index_entries(run, present)

    def rank(name):
        if name in entries:
            return (0, list(entries).index(name), name)
        stem = os.path.splitext(name)[0]
        return (1, _ORDER.index(stem) if stem in _ORDER else len(_ORDER), name)

    out = []
    for name in sorted(present, key=rank):
        entry = entries.get(name, {})
        title = _text(entry.get("title"), os.path.splitext(name)[0].replace("_", " "))
        pixels = entry.get("pixels", False)
        out.append(
            (
                os.path.join(folder, name),
                title,
                _text(entry.get("caption"), ""),
                pixels if isinstance(pixels, bool) else False,
            )
        )
    return out


def _data_uri(path):
    mime = _MIME_TYPES[os.path.splitext(path)[1].lower()]
    with open(path, "rb") as handle:
        payload = base64.b64encode(handle.read()).decode("ascii")
    return f"data:{mime};base64,{payload}"


def _metrics_section(run):
    metrics = runs.read_metrics(run)
    history = _history_pairs(run)
    parts = ["<h2>Final metrics</h2>", '<div class="columns">']
    if metrics:
        parts += ["<div><h3>Held-out evaluation</h3>"]
        parts += [_table(_metrics_pairs(metrics)), "</div>"]
    if history:
        parts += ["<div><h3>Training</h3>", _table(history), "</div>"]
    if not metrics and not history:
        parts.append(f"<p>No {runs.METRICS} or {runs.HISTORY} in this run folder.</p>")
    parts.append("</div>")
    return parts


def _pictures_section(run):
    pictures = _pictures(run)
    parts = ["<h2>Pictures</h2>"]
    if not pictures:
        parts.append(f"<p>No pictures in {runs.PLOTS}/.</p>")
    for path, title, caption, pixels in pictures:
        # Pixel grids are upscaled with nearest neighbours; keep them crisp.
        css = ' class="pixels"' if pixels else ""
        parts.append(
            "<figure>"
            f'<img{css} src="{_data_uri(path)}" '
            f'alt="{html.escape(title)}">'
            f"<figcaption><b>{html.escape(title)}</b> "
            f"({runs.PLOTS}/{html.escape(os.path.basename(path))}). "
            f"{html.escape(caption)}</figcaption>"
            "</figure>"
        )
    return parts


def _config_section(run, name):
    config = _read_config(run)
    parts = ["<h2>Configuration</h2>"]
    if config is None:
        return parts + [f"<p>No readable {runs.CONFIG} in this run folder.</p>"]
    parts.append(
        f"<p>As in <code>{runs.CONFIG}</code>; <code>vaekit train --config "
        f"{html.escape(os.path.join(name, runs.CONFIG))}</code> runs it "
        "again.</p>"
    )
    return parts + [_table(config, _setting)]


def build_report(run):
    """The HTML text of a run's report.

    Args:
        run: A run folder (made by `vaekit train`).

    Returns:
        A complete HTML document (str) with every picture embedded.

    Raises:
        RunFolderError: if `run` is not a run folder.
    """
    run = os.fspath(run)
    if not os.path.isdir(run):
        raise RunFolderError(f"run folder {run!r} does not exist")
    known = (runs.CONFIG, runs.METRICS, runs.HISTORY, runs.MODEL, runs.PLOTS)
    if not any(os.path.exists(runs.path(run, name)) for name in known):
        raise RunFolderError(
            f"{run!r} is not a vaekit run folder (no {', '.join(known[:-1])} or "
            f"{known[-1]}/)"
        )
    name = os.path.basename(os.path.abspath(run))
    stamp = datetime.datetime.now().strftime("%Y-%m-%d %H:%M")
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>vaekit run {html.escape(name)}</title>",
        f"<style>{_STYLE}</style>",
        "</head>",
        "<body>",
        f"<h1>vaekit run <code>{html.escape(name)}</code></h1>",
        f'<p class="meta">Report written {stamp} by vaekit {__version__}. '
        "Every picture is embedded in this file.</p>",
    ]
    if os.path.isfile(runs.path(run, runs.INCOMPLETE)):
        parts.append(
            f'<p class="incomplete"><b>This run is incomplete</b> (it holds '
            f"<code>{runs.INCOMPLETE}</code>): it is training, or it was "
            "interrupted, diverged or failed, so what this page shows may be "
            "missing or partial. <code>vaekit train --resume "
            f"{html.escape(run)}</code> completes it.</p>"
        )
    parts += _metrics_section(run)
    parts += _pictures_section(run)
    parts += _config_section(run, name)
    parts += ["</body>", "</html>", ""]
    return "\n".join(parts)


def write_report(run, output=None, redraw=False):
    """Writes `build_report(run)` to `output` (default `RUN/report.html`),
    atomically; with `redraw`, first draws `RUN/plots/` again (see
    `vaekit.viz.run_pictures.redraw_pictures`). Returns the path.

    Raises:
        RunFolderError: if `run` is not a run folder.
    """
    if redraw:
        from vaekit.viz.run_pictures import redraw_pictures

        redraw_pictures(run)
    output = output or runs.path(run, runs.REPORT)
    vaekit_io.write_text(output, build_report(run))
    return output
