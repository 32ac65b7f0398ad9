"""`memoire terrain ...`: sample, train and plot latent terrains.

    memoire terrain sample SOURCE --points FILE.csv     one latent vector per point, as CSV
    memoire terrain train LEVEL [--model FILE]           train and save beside the level
    memoire terrain plot SOURCE --out FILE.png           the field as a picture
    memoire terrain export LEVEL --out FILE.pt           the level's terrain as an nn.terrain checkpoint

SOURCE is an nn.terrain checkpoint (.pt), a saved terrain (.terrain.npz) or a level (.toml).
Points are in the source's own coordinates: control space for a checkpoint or saved terrain,
level metres for a level. memoire/cli.py mounts ``add_arguments`` / ``run`` as the `terrain`
subcommand.

Plots use Pillow only (headless). The picture's rows grow with y (the first row is the lowest
y): in a level that is north at the top, as in the level file's grid; in control space it is how
nn.terrain's GUI draws its plot (row i at y_lo + i * (y_hi - y_lo) / rows).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from memoire.terrain.grid import field_rgb  # noqa: F401  (pictures of a field: numpy only)
from memoire.world.errors import UserError

if TYPE_CHECKING:  # runtime imports are deferred: torch loads only when a command needs it
    from memoire.terrain.terrain import Terrain
    from memoire.world.level import Level

# The control range and picture size of nn.terrain's demo terrain (fixtures/nn_terrain/README.md):
# x in [-16, 16], y in [-4, 4], drawn 600 x 150 pixels. The default for control-space plots.
default_control_bounds = (-16.0, -4.0, 16.0, 4.0)
default_control_size_px = (600, 150)
default_px_per_m = 10.0  # level plots: 10 px per metre, the hutong (72 x 34.5 m) -> 720 x 345 px
max_plot_pixels = 4096 * 4096


# ---------------------------------------------------------------------------------------------
# Is it a terrain file? (without torch: `memoire check` reads the layout and the header only)

# Members of a TorchScript zip read when looking for nn.terrain's attribute names: its data.pkl
# is a few KB; a model's can be MBs, and a name is found in the first of them anyway.
_max_pickle_scan_bytes = 16 * 2**20


def check_terrain_file(path: Path) -> None:
    """Raise UserError unless ``path`` looks like an nn.terrain checkpoint (a TorchScript zip whose
    parameters include m_in_dim) or a saved terrain (a .terrain.npz whose header says so, with
    sizes within docs/levels.md's Limits). Reads no tensor and needs no torch."""
    import json
    import zipfile

    from memoire.terrain.grid import saved_suffix
    from memoire.world import level as L

    path = Path(path)
    kinds = f"an nn.terrain checkpoint (.pt) or a saved {saved_suffix}"
    if not path.exists():
        raise UserError(f"{path}: no such terrain file ({kinds})")
    if path.is_dir():
        raise UserError(f"{path} is a folder, not a terrain file ({kinds})")
    if not path.is_file():
        raise UserError(f"{path} is not a regular file; give {kinds}")
    if not zipfile.is_zipfile(path):
        raise UserError(f"{path} is not a terrain file (not a zip archive); expected {kinds}")
    try:
        with zipfile.ZipFile(path) as z:
            infos = z.infolist()
            names = [i.filename for i in infos]
            if "header.npy" in names:
                with z.open("header.npy") as f:
                    header_arr = np.lib.format.read_array(f, allow_pickle=False)
                header = json.loads(header_arr.tobytes().decode("utf-8"))
            else:
                header = None
                found = False
                for info in infos:
                    if info.filename.endswith(".pkl") and info.file_size <= _max_pickle_scan_bytes:
                        if b"m_in_dim" in z.read(info):
                            found = True
                            break
    except (OSError, ValueError, zipfile.BadZipFile, UnicodeDecodeError, EOFError) as e:
        raise UserError(f"{path}: cannot read this terrain file ({e}); expected {kinds}") from None
    if header is None:
        if not any(n.endswith("data.pkl") for n in names):
            raise UserError(f"{path} is a zip archive but not a terrain file; expected {kinds}")
        if not found:
            raise UserError(f"{path} is a TorchScript file but not an nn.terrain checkpoint (it has no m_in_dim): "
                            "a sound model given as the terrain? Expected " + kinds)
        return
    if not isinstance(header, dict) or header.get("format") != "memoire-terrain":
        raise UserError(f"{path} is a .npz but not a saved terrain (its header is not Memoire's); expected {kinds}")
    limits = {"width": L.max_terrain_width, "mapping_size": L.max_terrain_mapping_size, "in_dim": 16,
              "latent_dim": L.max_latent_dim}
    for key, most in limits.items():
        v = header.get(key)
        if not isinstance(v, int) or isinstance(v, bool) or not 0 <= v <= most:
            raise UserError(f"{path}: a saved terrain whose {key} is {v!r} (at most {most}); delete it and run "
                            "`memoire terrain train LEVEL` again")


# ---------------------------------------------------------------------------------------------
# Pictures of a field (pure numpy + Pillow)


def grid_points(bounds: tuple[float, float, float, float], size_px: tuple[int, int]) -> np.ndarray:
    """Sample positions of a picture: pixel (row i, column j) at (x0 + j dx, y0 + i dy) with
    dx = (x1 - x0) / W, dy = (y1 - y0) / H (nn.terrain's plot_interval sampling). -> (H*W, 2)."""
    x0, y0, x1, y1 = bounds
    w, h = size_px
    xs = x0 + np.arange(w) * (x1 - x0) / w
    ys = y0 + np.arange(h) * (y1 - y0) / h
    gx, gy = np.meshgrid(xs, ys)
    return np.stack([gx.ravel(), gy.ravel()], axis=1)


def plot_control(terrain: "Terrain", bounds: tuple[float, float, float, float] = default_control_bounds,
                 size_px: tuple[int, int] = default_control_size_px, channel: int | None = None,
                 clamp: tuple[float, float] | None = None) -> Image.Image:
    """A terrain over a rectangle of its control space (first two control dimensions; any others
    held at 0). ``--channel 0 --clamp -1 4`` draws what nn.terrain's GUI draws."""
    w, h = size_px
    pts = grid_points(bounds, size_px)
    if terrain.in_dim > 2:
        pts = np.concatenate([pts, np.zeros((len(pts), terrain.in_dim - 2))], axis=1)
    values = terrain.sample_control(pts[:, : terrain.in_dim]).reshape(h, w, -1)
    return Image.fromarray(field_rgb(values, channel, clamp), "RGB")


def plot_level(level: "Level", terrain: "Terrain", px_per_m: float = default_px_per_m,
               channel: int | None = None, clamp: tuple[float, float] | None = None,
               examples: np.ndarray | None = None) -> Image.Image:
    """A level's terrain over its map, with walls shaded, zones outlined and named, tours in
    yellow, trajectories in cyan, and (if given) the training positions ``examples`` (n, 2) as dots."""
    from memoire.world import bezier
    from memoire.world.level import Circle, SOLID_TILES

    w_m, h_m = level.tiles.size_m
    size = (max(2, int(round(w_m * px_per_m))), max(2, int(round(h_m * px_per_m))))
    # Sample at pixel centres: pixel j covers [j, j+1) / px_per_m metres.
    half = 0.5 / px_per_m
    pts = grid_points((half, half, w_m + half, h_m + half), size)
    values = terrain.sample(pts).reshape(size[1], size[0], -1)
    rgb = field_rgb(values, channel, clamp).astype(np.float32)

    # Shade solid tiles (walls, houses): 55 % towards dark grey, the field still shows through.
    kinds = level.tiles.kinds()
    solid = np.isin(kinds, list(SOLID_TILES))
    cols = np.minimum((np.arange(size[0]) / px_per_m / level.tiles.cell_m).astype(int), level.tiles.width - 1)
    rows = np.minimum((np.arange(size[1]) / px_per_m / level.tiles.cell_m).astype(int), level.tiles.height - 1)
    mask = solid[rows][:, cols]
    rgb[mask] = rgb[mask] * 0.45 + np.array([30, 30, 30]) * 0.55
    img = Image.fromarray(np.round(rgb).astype(np.uint8), "RGB")
    draw = ImageDraw.Draw(img)
    font = ImageFont.load_default()

    def px(xy) -> list[tuple[float, float]]:
        return [(float(x) * px_per_m, float(y) * px_per_m) for x, y in np.atleast_2d(xy)]

    if examples is not None:
        for x, y in px(examples):
            draw.point((x, y), fill=(0, 0, 0))
    for zone in level.zones:
        if isinstance(zone.shape, Circle):
            (cx, cy), = px([zone.shape.center])
            r = zone.shape.radius_m * px_per_m
            draw.ellipse((cx - r, cy - r, cx + r, cy + r), outline=(255, 255, 255), width=2)
        else:
            poly = px(zone.shape.points)
            draw.line(poly + poly[:1], fill=(255, 255, 255), width=2)
            cx = sum(p[0] for p in poly) / len(poly)
            cy = sum(p[1] for p in poly) / len(poly)
        draw.text((cx, cy), zone.name, fill=(255, 255, 255), anchor="mm", font=font, stroke_width=2,
                  stroke_fill=(0, 0, 0))
    for tour in level.tours:
        draw.line(px(bezier.flatten(np.asarray(tour.path.points)).points), fill=(255, 220, 0), width=1)
    for traj in level.trajectories:
        line = px(bezier.flatten(np.asarray(traj.path.points)).points)
        draw.line(line, fill=(0, 230, 255), width=2)
        (sx, sy) = line[0]
        draw.ellipse((sx - 4, sy - 4, sx + 4, sy + 4), outline=(0, 230, 255), width=2)
    return img


# ---------------------------------------------------------------------------------------------
# The command


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add `terrain`'s actions (sample, train, plot) to its subcommand parser."""
    sub = parser.add_subparsers(dest="terrain_action", metavar="ACTION", required=True)

    p = sub.add_parser("sample", help="print one latent vector per point (CSV)",
                       description="Print one latent vector per input point, as CSV. Points are in the "
                                   "source's coordinates: control space for a .pt or saved terrain, level "
                                   "metres for a level.")
    p.add_argument("source", type=Path, help="nn.terrain .pt, saved .terrain.npz, or level .toml")
    p.add_argument("--points", type=Path, required=True, help="CSV file: one point 'x,y' a line")
    p.add_argument("--model", type=Path, help="model file for the zone latents (a level's [sound] model by default)")

    p = sub.add_parser("train", help="train a level's terrain and save it beside the level",
                       description="Train a level's terrain from its zones and trajectories and save it as "
                                   "<level>.terrain.npz beside the level; reused while nothing changes.")
    p.add_argument("level", type=Path, help="level file, e.g. levels/hutong.toml")
    p.add_argument("--model", type=Path, help="model file for the zone latents (the level's [sound] model by default)")
    p.add_argument("--force", action="store_true", help="retrain even if the saved terrain is up to date")

    p = sub.add_parser("plot", help="draw a terrain as a PNG",
                       description="Draw a terrain: PCA of the latent as colour, or one channel in grey. "
                                   "For a level: over its map, with walls, zones and paths.")
    p.add_argument("source", type=Path, help="nn.terrain .pt, saved .terrain.npz, or level .toml")
    p.add_argument("--out", type=Path, required=True, help="PNG file to write")
    p.add_argument("--channel", type=int, help="draw latent channel K in grey instead of PCA colours")
    p.add_argument("--clamp", type=float, nargs=2, metavar=("LO", "HI"),
                   help="with --channel: values LO..HI map black..white (nn.terrain's GUI: -1 4)")
    p.add_argument("--bounds", type=float, nargs=4, metavar=("X0", "Y0", "X1", "Y1"),
                   help="control-space rectangle for a .pt / saved terrain (default -16 -4 16 4)")
    p.add_argument("--size", type=int, nargs=2, metavar=("W", "H"),
                   help="picture size in pixels for a .pt / saved terrain (default 600 150)")
    p.add_argument("--px-per-m", type=float, default=default_px_per_m,
                   help=f"pixels per metre for a level (default {default_px_per_m:g})")
    p.add_argument("--model", type=Path, help="model file for the zone latents (a level's [sound] model by default)")
    p.add_argument("--examples", action="store_true", help="for a level: dot the training positions")

    p = sub.add_parser("export", help="write a level's terrain as an nn.terrain checkpoint (.pt) for Max",
                       description="Write a level's latent terrain (its saved <level>.terrain.npz, trained first "
                                   "when missing or out of date) as an nn.terrain checkpoint: load it in Max with "
                                   "[nn.terrain~ FILE.pt]. Control coordinates are the level's metres through its "
                                   "[terrain] map_from/map_to (docs/terrain.md, Exporting to nn.terrain).")
    p.add_argument("level", type=Path, help="level file (.toml), or a saved .terrain.npz / nn.terrain .pt")
    p.add_argument("--out", type=Path, required=True, help="checkpoint file to write (FILE.pt)")
    p.add_argument("--model", type=Path, help="model file for the zone latents (the level's [sound] model by default)")
    p.add_argument("--no-train", action="store_true",
                   help="never train: refuse when the saved terrain is missing or out of date")
    p.add_argument("--map-to", type=float, nargs=4, metavar=("X0", "Y0", "X1", "Y1"),
                   help="control rectangle the level's whole map covers in the checkpoint (corner 0,0 m -> X0,Y0; "
                        "the far corner -> X1,Y1), e.g. -16 -4 16 4; default: the terrain's own control space")


def run(args: argparse.Namespace) -> int:
    """Run a `memoire terrain` action. Returns the exit status; raises UserError for bad input."""
    action = args.terrain_action
    if action == "sample":
        return _sample(args)
    if action == "train":
        return _train(args)
    if action == "plot":
        return _plot(args)
    if action == "export":
        return _export(args)
    raise UserError(f"unknown terrain action '{action}'; use sample, train, plot or export")


def _is_level(path: Path) -> bool:
    return path.suffix.lower() == ".toml"


def _zone_latents(level: "Level", model: Path | None) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Each zone's latent and the rest latent, resolved against the model (--model or [sound] model)."""
    from memoire.world.field import build_zone_blend
    from memoire.audio.model import inspect_model

    path = model or level.sound.model
    if path is None:
        raise UserError(f"{level.path}: [sound] names no model, and the terrain is trained from the zones' "
                        "latents; give one with --model FILE")
    blend = build_zone_blend(level, inspect_model(path))
    zone_latents = {name: np.asarray(z, np.float32) for name, z in zip(blend.names, blend.latents)}
    return zone_latents, np.asarray(blend.rest_latent, np.float32)


def _progress_printer(steps_total: int):
    t0 = time.perf_counter()
    every = max(1, steps_total // 10)

    def report(step: int, loss: float) -> None:
        if step % every == 0 or step == steps_total:
            print(f"  step {step:>6}/{steps_total}  loss {loss:.5f}  {time.perf_counter() - t0:5.1f} s",
                  file=sys.stderr, flush=True)
    return report


def _level_terrain(level_path: Path, model: Path | None, *, force: bool = False,
                   level: "Level | None" = None) -> tuple["Terrain", "Level"]:
    from memoire.terrain import terrain as T
    from memoire.world.level import load_level

    level = level if level is not None else load_level(level_path)
    if level.terrain is None:
        raise UserError(f"{level_path}: the level has no [terrain] table (add one: docs/terrain.md)")
    if level.terrain.source != "train":
        dim = None
        if model is not None:
            from memoire.audio.model import inspect_model
            dim = inspect_model(model).latent_dim
        t = T.level_terrain_from_source(level, dim)
        assert t is not None
        print(f"terrain: {level.terrain.source_path} (named by [terrain] source)", file=sys.stderr)
        return t, level
    zone_latents, rest = _zone_latents(level, model)
    if not force:
        t = T.cached_level_terrain(level, zone_latents, rest)
        if t is not None:
            print(f"terrain: {T.saved_terrain_path(level)} is up to date", file=sys.stderr)
            return t, level
    steps = level.terrain.steps
    print(f"training the terrain of {level_path} ({steps} steps)...", file=sys.stderr, flush=True)
    t0 = time.perf_counter()
    t = T.train_level_terrain(level, zone_latents, rest, on_progress=_progress_printer(steps))
    print(f"trained in {time.perf_counter() - t0:.1f} s; saved {T.saved_terrain_path(level)}", file=sys.stderr)
    return t, level


def _read_points(path: Path, columns: int) -> np.ndarray:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UserError(f"{path}: no such points file (CSV, one point 'x,y' a line)") from None
    except (OSError, UnicodeDecodeError) as e:
        raise UserError(f"{path}: cannot read the points file: {e}") from None
    rows = []
    for n, line in enumerate(text.splitlines(), start=1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        cells = [c.strip() for c in line.split(",")]
        try:
            values = [float(c) for c in cells]
        except ValueError:
            if not rows and n == 1:
                continue  # a header line such as "x,y"
            raise UserError(f"{path}:{n}: not a point: '{line}' (expected {columns} numbers separated by commas)") from None
        if len(values) != columns or not all(np.isfinite(values)):
            raise UserError(f"{path}:{n}: expected {columns} finite numbers separated by commas, got '{line}'")
        rows.append(values)
    if not rows:
        raise UserError(f"{path}: no points in the file (one point 'x,y' a line)")
    return np.array(rows, dtype=np.float64)


def _sample(args: argparse.Namespace) -> int:
    from memoire.terrain import terrain as T

    if _is_level(args.source):
        terrain, _ = _level_terrain(args.source, args.model)
        out = terrain.sample(_read_points(args.points, 2))
    else:
        terrain = T.load_terrain_file(args.source)
        out = terrain.sample_control(_read_points(args.points, terrain.in_dim))
    for row in out:
        print(",".join(f"{v:.7g}" for v in row))
    return 0


def _train(args: argparse.Namespace) -> int:
    if not _is_level(args.level):
        raise UserError(f"{args.level}: `memoire terrain train` takes a level file (.toml), e.g. levels/hutong.toml")
    _level_terrain(args.level, args.model, force=args.force)
    return 0


def _plot(args: argparse.Namespace) -> int:
    from memoire.terrain import terrain as T

    if args.clamp is not None and args.channel is None:
        raise UserError("--clamp goes with --channel K (PCA colours stretch themselves)")
    if args.clamp is not None and not args.clamp[1] > args.clamp[0]:
        raise UserError(f"--clamp {args.clamp[0]:g} {args.clamp[1]:g}: LO must be below HI")
    if args.out.suffix.lower() != ".png":
        raise UserError(f"--out {args.out}: the picture is written as PNG; name it FILE.png")
    from memoire.world.files import atomic_output, cannot_write, check_output_path

    check_output_path(args.out, [("the terrain source", args.source), ("the model", args.model)], flag="--out")
    clamp = tuple(args.clamp) if args.clamp is not None else None
    if _is_level(args.source):
        if args.bounds is not None or args.size is not None:
            raise UserError("--bounds and --size are for a .pt / saved terrain; a level is drawn over its map "
                            "(set the scale with --px-per-m)")
        if not 0 < args.px_per_m <= 100:
            raise UserError(f"--px-per-m {args.px_per_m:g}: use a value in (0, 100]")
        terrain, level = _level_terrain(args.source, args.model)
        examples = None
        if args.examples and level.terrain.source == "train":
            zone_latents, rest = _zone_latents(level, args.model)
            examples = T.build_training_set(level, zone_latents, rest).xy_m
        img = plot_level(level, terrain, args.px_per_m, args.channel, clamp, examples)
    else:
        terrain = T.load_terrain_file(args.source)
        bounds = tuple(args.bounds) if args.bounds is not None else default_control_bounds
        if not (bounds[2] > bounds[0] and bounds[3] > bounds[1]):
            raise UserError(f"--bounds {' '.join(f'{b:g}' for b in bounds)}: need X0 < X1 and Y0 < Y1")
        size = tuple(args.size) if args.size is not None else default_control_size_px
        if min(size) < 1 or size[0] * size[1] > max_plot_pixels:
            raise UserError(f"--size {size[0]} {size[1]}: use 1..4096 pixels a side")
        img = plot_control(terrain, bounds, size, args.channel, clamp)
    try:
        with atomic_output(args.out) as tmp:  # whole or not at all
            img.save(tmp, format="PNG")
    except OSError as e:
        raise cannot_write(args.out, e) from None
    print(f"wrote {args.out} ({img.width} x {img.height} px)", file=sys.stderr)
    return 0


def _export(args: argparse.Namespace) -> int:
    """`memoire terrain export`: the level's terrain as an nn.terrain checkpoint (memoire/terrain/export.py)."""
    from memoire.world.files import cannot_write, check_output_path, level_inputs

    out = args.out
    if out.suffix.lower() != ".pt":
        raise UserError(f"--out {out}: nn.terrain checkpoints are .pt files (nn.terrain~ adds .pt to a name "
                        "without it); name it FILE.pt")
    if args.map_to is not None and not all(np.isfinite(args.map_to)):
        raise UserError("--map-to: give four finite numbers X0 Y0 X1 Y1")
    from memoire.terrain import terrain as T

    source = args.level
    level = None
    if _is_level(source):
        from memoire.world.level import load_level

        level = load_level(source)
        inputs = [*level_inputs(level, args.model), ("the level's saved terrain", T.saved_terrain_path(level))]
        check_output_path(out, inputs, flag="--out")
        if level.terrain is None:
            raise UserError(f"{source}: the level has no [terrain] table, so it has no latent terrain to export; add "
                            f"one (docs/terrain.md) and run `memoire terrain train {source}`")
        terrain = _terrain_for_export(level, args.model, train=not args.no_train)
        map_m = level.tiles.size_m
    else:
        check_output_path(out, [("the terrain source", source)], flag="--out")
        terrain = T.load_terrain_file(source)
        map_m = None
        if args.map_to is not None:
            raise UserError("--map-to needs a level (.toml): a terrain file alone does not say how big the map is")
    if terrain.in_dim != 2:
        raise UserError(f"{source}: the terrain has {terrain.in_dim} control dimensions; export takes a level's 2-D "
                        "terrain")
    from memoire.terrain.export import export_control_map, write_checkpoint

    net, cmap = export_control_map(terrain, map_m, tuple(args.map_to) if args.map_to is not None else None) \
        if map_m is not None else (terrain.net, terrain.control_map)
    note = {
        "written_by": "memoire terrain export",
        "latent_dim": net.out_dim, "in_dim": net.in_dim, "cmax": net.width, "mapping_size": net.mapping_size,
        "gauss": net.gauss if net.mapping_size else 0.0,
        "control_from_metres": {"scale": list(cmap.scale), "offset": list(cmap.offset),
                                "rule": "control = metres * scale + offset, per axis (x east, y south)"},
        "fingerprint": terrain.fingerprint,
    }
    bounds = None
    if level is not None:
        w, h = map_m
        corners = cmap.apply(np.array([[0.0, 0.0], [w, h]]))
        bounds = (float(corners[0, 0]), float(corners[0, 1]), float(corners[1, 0]), float(corners[1, 1]))
        note.update({"level": level.name, "level_file": Path(level.path).name, "map_m": [w, h],
                     "map_in_control": {"x0": bounds[0], "y0": bounds[1], "x1": bounds[2], "y1": bounds[3]}})
        model = args.model or level.sound.model
        if model is not None:
            note["model"] = Path(model).name
    try:
        write_checkpoint(net, out, note)
    except OSError as e:
        raise cannot_write(out, e) from None
    feats = f"{net.mapping_size} features, gauss {net.gauss:g}" if net.mapping_size else "no Fourier features"
    print(f"wrote {out}: nn.terrain checkpoint, {net.in_dim} control -> {net.out_dim} latent dimensions "
          f"(cmax {net.width}, {feats})", file=sys.stderr)
    if bounds is not None:
        x0, y0, x1, y1 = bounds
        print(f"control space: the map's corner (0, 0) m is ({x0:g}, {y0:g}), its far corner ({map_m[0]:g}, "
              f"{map_m[1]:g}) m is ({x1:g}, {y1:g}); in Max: [nn.terrain~ {out.name}], and for nn.terrain.gui "
              f"plot_interval {min(x0, x1):g} {max(x0, x1):g} 600 {min(y0, y1):g} {max(y0, y1):g} "
              f"{max(1, round(600 * abs(y1 - y0) / abs(x1 - x0)))}", file=sys.stderr)
    return 0


def _terrain_for_export(level: "Level", model: Path | None, *, train: bool) -> "Terrain":
    """The level's terrain: the file [terrain] source names, or the saved terrain when up to date,
    or (``train``) trained and saved now; without ``train`` a stale or missing one is a UserError."""
    from memoire.terrain import terrain as T

    if level.terrain.source != "train" or train:
        return _level_terrain(Path(level.path), model, level=level)[0]
    zone_latents, rest = _zone_latents(level, model)
    t = T.cached_level_terrain(level, zone_latents, rest)
    if t is None:
        saved = T.saved_terrain_path(level)
        why = "is out of date (the zones, the model or [terrain] changed)" if saved.exists() else "does not exist"
        raise UserError(f"{level.path}: the saved terrain {saved.name} {why}; run `memoire terrain train "
                        f"{level.path}` first (or export without --no-train)")
    print(f"terrain: {T.saved_terrain_path(level)} is up to date", file=sys.stderr)
    return t
