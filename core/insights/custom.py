"""Custom insights (SPEC §2.2, §8): every file a task's `fit` wrote, listed per node, previewed, exported.

Previews are plain text for a terminal: the first lines of text, CSV as an
aligned table, and PNG images decoded with the standard library (zlib) and
drawn as characters of increasing density. Nothing here imports rich or
textual.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import stat
import struct
import zlib
from datetime import datetime
from html.parser import HTMLParser
from pathlib import Path

from ..errors import UsageError
from ..store import Model, Store
from ..store.integrity import verify_model
from ..sharing import node_refusal, require_model, withheld_nodes

IMAGE = {".png", ".jpg", ".jpeg", ".gif", ".bmp", ".svg", ".webp", ".tif", ".tiff"}
CSV = {".csv", ".tsv"}
TEXT = {".txt", ".log", ".md", ".rst", ".json", ".yaml", ".yml", ".py", ".r", ".ini", ".cfg", ".toml", ".xml"}
HTML = {".html", ".htm"}
RAMP = " .:-=+*#%@"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
MAX_PIXELS = 40_000_000
TEXT_LINES = 15
CSV_ROWS = 10
CSV_CELL = 18


def file_kind(path: str | Path) -> str:
    """image, csv, text, html or other, from the file name."""
    suffix = Path(path).suffix.lower()
    if suffix in IMAGE:
        return "image"
    if suffix in CSV:
        return "csv"
    if suffix in HTML:
        return "html"
    if suffix in TEXT:
        return "text"
    return "other"


def _plan(model: Model) -> dict | None:
    try:
        return json.loads((model.artifact_path / "plan.json").read_text())
    except (OSError, ValueError, TypeError):
        return None


def model_nodes(model: Model) -> list[dict]:
    """The model's nodes in plan order: name, task reference, kind and folder (only folders that exist)."""
    if model.artifact_path is None:
        return []
    base = model.artifact_path / "nodes"
    plan = _plan(model)
    if plan is not None:
        entries = [(n["name"], n.get("task_ref"), n.get("kind")) for n in plan["nodes"]]
    else:  # an older model without a plan: every node folder (not the scoring layouts beside them)
        names = sorted(p.name for p in base.iterdir() if p.is_dir() and p.name.isidentifier()) if base.is_dir() else []
        entries = [(name, None, None) for name in names]
    out = []
    for name, ref, kind in entries:
        folder = base / name
        if folder.is_dir() and not folder.is_symlink():
            pin = (model.resolved or {}).get(name) or {}
            out.append({"node": name, "task_ref": ref or pin.get("task"), "kind": kind, "pin": pin, "folder": folder})
    return out


def _node_files(folder: Path) -> list[tuple[str, Path]]:
    """(relative path, absolute path) of every regular file under a node folder, sorted; symlinks skipped."""
    found = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not (Path(root) / d).is_symlink())
        for name in files:
            path = Path(root) / name
            try:
                if not stat.S_ISREG(path.lstat().st_mode):
                    continue
            except OSError:
                continue
            found.append((path.relative_to(folder).as_posix(), path))
    return sorted(found)


def custom_insight_files(model: Model, withheld=()) -> list[dict]:
    """Every file each node's `fit` wrote: node, path (absolute), name (relative to the node), size, kind; the nodes
    named in `withheld` (`sharing.withheld_nodes`: their task is not the user's to read) are left out."""
    out = []
    for node in model_nodes(model):
        if node["node"] in withheld:
            continue
        for rel, path in _node_files(node["folder"]):
            out.append({"node": node["node"], "task": node["task_ref"], "name": rel, "path": str(path),
                        "size": path.stat().st_size, "kind": file_kind(rel)})
    return out


def visible_files(store: Store, model: Model, doing: str = "see the files of") -> tuple[list[dict], list[str]]:
    """The model's custom insight files the acting user may see, and one sentence per node left out because its
    task is not theirs to read (execute stops at a task's fitted artifact, SPEC §10)."""
    withheld = withheld_nodes(store, model)
    return (custom_insight_files(model, withheld),
            [node_refusal(node, task, owner, doing) for node, (task, owner) in withheld.items()])


def artifact_files(store: Store, model_ref: int | str, node: str | None = None) -> tuple[Model, list[dict], list[str]]:
    """What `artifacts MODEL [--node N]` lists, for a user who can read the model's project: the files of every node
    but those whose task the user may not read (each named in a sentence), or of `node` alone (refused when its task
    is such a task)."""
    model, _ = require_model(store, model_ref, "see the artifacts of a model of")
    nodes, left_out = _readable_nodes(store, model, node)
    chosen = {n["node"] for n in nodes}
    files = [f for f in custom_insight_files(model) if f["node"] in chosen]
    return model, files, left_out


def _readable_nodes(store: Store, model: Model, node: str | None) -> tuple[list[dict], list[str]]:
    """The model's nodes whose files the acting user may take (only `node` when given), and one sentence per node
    left out; asking for a node whose task the user may not read is refused."""
    withheld = withheld_nodes(store, model)
    nodes = model_nodes(model)
    doing = "download the artifact of"
    if node is None:
        return ([n for n in nodes if n["node"] not in withheld],
                [node_refusal(name, task, owner, doing) for name, (task, owner) in withheld.items()])
    if node in withheld:
        raise UsageError(node_refusal(node, *withheld[node], doing))
    chosen = [n for n in nodes if n["node"] == node]
    if not chosen:
        raise UsageError(f"model {model.id} has no node {node!r} with files; its nodes are "
                         f"{', '.join(n['node'] for n in nodes) or 'none'}.")
    return chosen, []


# ---------------------------------------------------------------- previews


def preview(path: str | Path, width: int = 80) -> str:
    """A terminal preview of a file: text and HTML first lines, CSV as a table, PNG as characters, else its size."""
    path = Path(path)
    width = max(int(width), 10)
    kind = file_kind(path)
    size = path.stat().st_size
    try:
        if kind == "image" or _is_png(path):
            if not _is_png(path):
                return f"({_human(size)} {path.suffix.lstrip('.').upper() or 'image'}; only PNG images are previewed in the terminal)"
            return render_png(path.read_bytes(), width)
        if kind == "csv":
            return _csv_preview(path, width)
        if kind in ("text", "html"):
            return _text_preview(path, width, html=kind == "html")
    except (OSError, ValueError, zlib.error, struct.error, csv.Error, UnicodeDecodeError) as exc:
        return f"({_human(size)}; cannot preview: {exc})"
    return f"({_human(size)}; no preview for this kind of file)"


def _is_png(path: Path) -> bool:
    try:
        with open(path, "rb") as fh:
            return fh.read(8) == PNG_SIGNATURE
    except OSError:
        return False


def _human(n: int) -> str:
    for unit in ("bytes", "kB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n} bytes"


def _read_head(path: Path, limit: int = 256_000) -> str:
    with open(path, "rb") as fh:
        data = fh.read(limit)
    if b"\x00" in data:
        raise ValueError("it holds binary data")
    return data.decode("utf-8", errors="replace")


def _clip(text: str, width: int) -> str:
    text = text.replace("\t", "    ")
    text = "".join(ch if ch.isprintable() else "?" for ch in text)
    return text if len(text) <= width else text[: width - 1] + "…"


class _TextOnly(HTMLParser):
    def __init__(self):
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self._skip += 1
        elif tag in ("br", "p", "div", "tr", "li", "h1", "h2", "h3", "h4", "table"):
            self.parts.append("\n")

    def handle_endtag(self, tag):
        if tag in ("script", "style") and self._skip:
            self._skip -= 1
        elif tag in ("td", "th"):
            self.parts.append("  ")

    def handle_data(self, data):
        if not self._skip:
            self.parts.append(data)


def _text_preview(path: Path, width: int, *, html: bool = False) -> str:
    text = _read_head(path)
    if html:
        parser = _TextOnly()
        parser.feed(text)
        text = "".join(parser.parts)
    lines = [line.rstrip() for line in text.splitlines()]
    if html:
        lines = [" ".join(line.split()) for line in lines if line.strip()]
    shown = [_clip(line, width) for line in lines[:TEXT_LINES]]
    if len(lines) > TEXT_LINES:
        shown.append(f"… {len(lines) - TEXT_LINES} more line(s)")
    return "\n".join(shown) if shown else "(empty)"


def _csv_preview(path: Path, width: int) -> str:
    """Header and the first CSV_ROWS rows as an aligned table; cells and lines clipped to fit `width`."""
    delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
    rows, more = [], 0
    with open(path, newline="", encoding="utf-8", errors="replace") as fh:
        for i, row in enumerate(csv.reader(fh, delimiter=delimiter)):
            if i <= CSV_ROWS:
                rows.append(row)
            else:
                more += 1
    if not rows:
        return "(empty)"
    ncol = max(len(r) for r in rows)
    rows = [[_clip(_short_number(c.strip()), CSV_CELL) for c in r] + [""] * (ncol - len(r)) for r in rows]
    widths = [max(len(r[j]) for r in rows) for j in range(ncol)]
    numeric = [all(_is_number(r[j]) for r in rows[1:] if r[j]) for j in range(ncol)]

    def line(r):
        cells = [r[j].rjust(widths[j]) if numeric[j] else r[j].ljust(widths[j]) for j in range(ncol)]
        return _clip("  ".join(cells).rstrip(), width)

    out = [line(rows[0]), _clip("  ".join("-" * w for w in widths), width)]
    out += [line(r) for r in rows[1:]]
    if more:
        out.append(f"… {more} more row(s)")
    return "\n".join(out)


def _short_number(text: str) -> str:
    """Long numbers at 6 significant digits, so a column of floats stays readable."""
    if len(text) > 8 and _is_number(text):
        return f"{float(text):.6g}"
    return text


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


# ---------------------------------------------------------------- PNG decoding


def decode_png(data: bytes) -> tuple[int, int, list[bytes], int]:
    """(width, height, rows of grey luminance bytes 0-255, channels) of an 8-bit non-interlaced PNG.

    Handles greyscale, grey+alpha, RGB, RGBA and palette images; alpha is
    composited on white. Other forms raise ValueError naming what is missing.
    """
    if data[:8] != PNG_SIGNATURE:
        raise ValueError("not a PNG file")
    pos, header, palette, idat = 8, None, None, []
    while pos + 8 <= len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind = data[pos + 4:pos + 8]
        body = data[pos + 8:pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body[:13])
        elif kind == b"PLTE":
            palette = body
        elif kind == b"IDAT":
            idat.append(body)
        elif kind == b"IEND":
            break
    if header is None:
        raise ValueError("the PNG has no IHDR chunk")
    width, height, depth, color, _compression, _filter, interlace = header
    channels = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}.get(color)
    if channels is None:
        raise ValueError(f"PNG colour type {color} is not supported")
    if depth != 8:
        raise ValueError(f"only 8-bit PNG images are previewed (this one has {depth}-bit samples)")
    if interlace:
        raise ValueError("interlaced PNG images are not previewed")
    if width == 0 or height == 0 or width * height > MAX_PIXELS:
        raise ValueError(f"a {width}x{height} image is too large to preview")
    if color == 3 and not palette:
        raise ValueError("the palette PNG has no PLTE chunk")
    stride = width * channels
    expected = height * (stride + 1)
    inflater = zlib.decompressobj()
    raw = inflater.decompress(b"".join(idat), expected)
    if len(raw) < expected:
        raise ValueError("the PNG image data is truncated")
    rows = _unfilter(raw, width, height, channels)
    grey = [_luminance(row, width, color, palette) for row in rows]
    return width, height, grey, channels


def _unfilter(raw: bytes, width: int, height: int, bpp: int) -> list[bytes]:
    stride = width * bpp
    prev = bytearray(stride)
    rows = []
    for y in range(height):
        start = y * (stride + 1)
        ftype = raw[start]
        line = bytearray(raw[start + 1:start + 1 + stride])
        if ftype == 0:
            pass
        elif ftype == 1:
            for i in range(bpp, stride):
                line[i] = (line[i] + line[i - bpp]) & 0xFF
        elif ftype == 2:
            line = bytearray((a + b) & 0xFF for a, b in zip(line, prev))
        elif ftype == 3:
            for i in range(stride):
                left = line[i - bpp] if i >= bpp else 0
                line[i] = (line[i] + ((left + prev[i]) >> 1)) & 0xFF
        elif ftype == 4:
            for i in range(stride):
                a = line[i - bpp] if i >= bpp else 0
                b = prev[i]
                c = prev[i - bpp] if i >= bpp else 0
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                line[i] = (line[i] + pred) & 0xFF
        else:
            raise ValueError(f"unknown PNG filter type {ftype} on row {y}")
        rows.append(bytes(line))
        prev = line
    return rows


def _luminance(row: bytes, width: int, color: int, palette: bytes | None) -> bytes:
    """One row as grey values 0 (black) … 255 (white), alpha composited on white."""
    if color == 0:
        return row
    if color == 4:
        return bytes((g * a + 255 * (255 - a)) // 255 for g, a in zip(row[0::2], row[1::2]))
    if color == 3:
        out = bytearray(width)
        for i, index in enumerate(row):
            r, g, b = palette[3 * index:3 * index + 3] if 3 * index + 3 <= len(palette) else (0, 0, 0)
            out[i] = (299 * r + 587 * g + 114 * b) // 1000
        return bytes(out)
    if color == 2:
        return bytes((299 * r + 587 * g + 114 * b) // 1000 for r, g, b in zip(row[0::3], row[1::3], row[2::3]))
    out = bytearray(width)
    for i, (r, g, b, a) in enumerate(zip(row[0::4], row[1::4], row[2::4], row[3::4])):
        lum = (299 * r + 587 * g + 114 * b) // 1000
        out[i] = (lum * a + 255 * (255 - a)) // 255
    return bytes(out)


def render_png(data: bytes, width: int = 80) -> str:
    """A PNG drawn in characters: at most `width` columns, rows halved for the terminal's tall cells."""
    w, h, grey, channels = decode_png(data)
    cols = max(1, min(width, w))
    lines_n = max(1, round(h * cols / w / 2))
    kind = {1: "grey", 2: "grey+alpha", 3: "RGB", 4: "RGBA"}[channels]
    out = [f"PNG {w}x{h} {kind}, drawn at {cols}x{lines_n} characters:"]
    for ly in range(lines_n):
        y0, y1 = ly * h // lines_n, max(ly * h // lines_n + 1, (ly + 1) * h // lines_n)
        ys = _samples(y0, y1)
        chars = []
        for cx in range(cols):
            x0, x1 = cx * w // cols, max(cx * w // cols + 1, (cx + 1) * w // cols)
            xs = _samples(x0, x1)
            total = sum(grey[y][x] for y in ys for x in xs)
            mean = total / (len(ys) * len(xs))
            level = min(len(RAMP) - 1, int((255 - mean) / 256 * len(RAMP)))
            chars.append(RAMP[level])
        out.append("".join(chars).rstrip())
    return "\n".join(out)


def _samples(start: int, end: int, most: int = 4) -> list[int]:
    span = end - start
    if span <= most:
        return list(range(start, end))
    return [start + (2 * k + 1) * span // (2 * most) for k in range(most)]


# ---------------------------------------------------------------- export


def export_artifacts(store: Store, model_id: int | str, to_dir: str | Path, node: str | None = None) -> dict:
    """Copy each node's artifact folder (only `node`'s when given) into `to_dir/<node>/` (a new or empty folder)
    with a README.txt.

    Returns {"path", "files", "nodes", "withheld"}. Needs read on the model's
    project; the nodes whose task the user may not read are left out, each
    named in a sentence in `withheld` (asking for one with `node` is refused).
    Refuses a folder that is not empty or lies inside the model's own folder;
    writes nothing outside `to_dir`, and removes what it wrote when a copy fails.
    """
    model, project = require_model(store, model_id, "export the artifacts of a model of")
    if model.state != "trained" or model.artifact_path is None:
        raise UsageError(f"model {model.id} is {model.state}, so it has no artifacts to export.")
    verify_model(model, project.name)  # a changed pickle copied out would carry code under this user's name
    target = Path(to_dir).expanduser()
    if target.exists() and not target.is_dir():
        raise UsageError(f"{target} is a file; name a new or empty folder for the artifacts.")
    if target.is_dir() and any(target.iterdir()):
        raise UsageError(f"{target} is not empty; name a new or empty folder for the artifacts.")
    resolved = target.resolve()
    source = model.artifact_path.resolve()
    if resolved == source or source in resolved.parents:
        raise UsageError(f"{target} is inside the model's own folder; export somewhere else.")
    nodes, withheld = _readable_nodes(store, model, node)
    created = not target.exists()
    target.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    summary = []
    try:
        for node in nodes:
            files = _node_files(node["folder"])
            dest_root = target / node["node"]
            dest_root.mkdir()
            written.append(dest_root)
            for rel, path in files:
                dest = dest_root / rel
                if resolved not in dest.resolve().parents:  # never outside the target, whatever the names
                    raise UsageError(f"refusing to write {rel!r} outside {target}.")
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(path, dest)
                shutil.copystat(path, dest)
            summary.append({"node": node["node"], "task": node["task_ref"], "pin": node["pin"],
                            "files": [rel for rel, _ in files]})
        readme = target / "README.txt"
        readme.write_text(_readme(model, project, summary, withheld))
        written.append(readme)
    except BaseException:
        for path in written:
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
        if created:
            shutil.rmtree(target, ignore_errors=True)
        raise
    from .. import workspace

    workspace.hand_over(target)
    return {
        "path": str(target),
        "model": model.id,
        "files": sum(len(n["files"]) for n in summary),
        "nodes": [{"node": n["node"], "task": _task_label(n), "files": n["files"]} for n in summary],
        "withheld": withheld,
    }


def _task_label(node: dict) -> str:
    pin = node.get("pin") or {}
    if pin.get("task"):
        label = pin["task"] if pin.get("builtin") or pin.get("version") is None else f"{pin['task']} version {pin['version']}"
        if pin.get("builtin"):
            label += " (built-in)"
        return label
    return node.get("task") or "unknown task"


def _readme(model: Model, project, summary: list[dict], withheld: list[str] = ()) -> str:
    out = io.StringIO()
    out.write(f"Artifacts of model {model.id} (blueprint {model.blueprint}) in project {project.name}\n")
    out.write(f"exported by taskbench on {datetime.now().astimezone().strftime('%Y-%m-%d %H:%M:%S %Z')}.\n\n")
    out.write("Each folder holds every file one blueprint node's fit wrote (its output_dir):\n\n")
    for node in summary:
        pin = node.get("pin") or {}
        digest = f", sha256 {pin['sha256'][:12]}" if pin.get("sha256") else ""
        out.write(f"  {node['node']}/  node {node['node']}: task {_task_label(node)}{digest}; {len(node['files'])} file(s)\n")
        for rel in node["files"]:
            out.write(f"      {rel}\n")
    for sentence in withheld:
        out.write(f"\n  Left out: {sentence}\n")
    out.write("\nBlueprint:\n\n")
    for line in model.blueprint_text.strip().splitlines():
        out.write(f"  {line}\n")
    return out.getvalue()
