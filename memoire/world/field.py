"""The latent field: where in the model's latent space each point of the level sounds from.

Zone blend, per zone i at a point p:
    d_i = distance from p to the zone's inner region (0 inside), metres
    u_i = clamp(1 - d_i / falloff_m, 0, 1)
    c_i = curve(u_i)                 linear: u; smooth: smoothstep; exponential: (exp(4u)-1)/(e^4-1)
    w_i = c_i * priority_i
Target latent = coverage * (sum w_i z_i / sum w_i) + (1 - coverage) * z_rest, coverage = max_i c_i,
so inside one zone the sound is that zone's, where no zone reaches it is the rest latent, and the
blend is continuous everywhere (every term is continuous in p).
The latent time constant blends the same way: zones' fade_s, and [sound] smoothing_s for the rest.

Live controls (``FieldControls``, from OSC: memoire/game/osc.py, docs/osc.md) change a field
without a level edit: a gain g_i in 0..1 per zone multiplies its curve value, c_i -> g_i * c_i,
before the shares and the coverage are taken (so a zone at gain 0 is as if it were not there and
its place sounds of the rest latent; the blend stays continuous); a latent override replaces the
target everywhere (the zones' and the rest's weights are 0, their motion fades out, the terrain
is not mixed) until it is released.

A terrain (memoire/terrain/terrain.py) may replace or mix with the blend ([sound] field = zones|terrain|mix);
the synth receives a ``LatentField`` snapshot and calls ``target(x, y)`` on its own thread.
Pure numpy: no torch here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Protocol

import numpy as np

from memoire.world.card import ModelCard
from memoire.world.errors import UserError
from memoire.world.level import Anchor, Level

# Steepness of the "exponential" falloff curve: e^4 ~ 55, so the weight is 1/55 of full at the
# middle of the falloff band's outer half: a sound that stays faint until you are close.
exponential_steepness = 4.0


def curve_value(kind: str, u: np.ndarray) -> np.ndarray:
    """Falloff curve of u in [0, 1] (1 = inner region, 0 = falloff edge) -> weight in [0, 1]."""
    u = np.clip(u, 0.0, 1.0)
    if kind == "linear":
        return u
    if kind == "smooth":
        return u * u * (3.0 - 2.0 * u)
    if kind == "exponential":
        return np.expm1(exponential_steepness * u) / math.expm1(exponential_steepness)
    raise ValueError(f"unknown falloff curve {kind!r}")


def resolve_anchor(anchor: Anchor, info: ModelCard, where: str = "anchor") -> np.ndarray:
    """A zone's anchor as a latent vector (latent_dim,) float32. Raises UserError naming the fix."""
    if anchor.class_name is not None:
        idx = info.class_index(anchor.class_name)
        if idx is None:
            if not info.class_names:
                raise UserError(f"{where}: anchor '{anchor.class_name}' names a sound class, but the model "
                                f"{info.path.name} carries no class names (an artist's RAVE model); give the "
                                f"anchor as a vector of {info.latent_dim} numbers, or a clip from `memoire encode`")
            raise UserError(f"{where}: the model {info.path.name} has no sound class '{anchor.class_name}'; "
                            f"its classes are: {', '.join(info.class_names)}")
        return np.array(info.class_mean[idx], dtype=np.float32)
    if anchor.vector is not None:
        if len(anchor.vector) != info.latent_dim:
            raise UserError(f"{where}: anchor vector has {len(anchor.vector)} numbers but the model "
                            f"{info.path.name} has {info.latent_dim} latent dimensions")
        return np.array(anchor.vector, dtype=np.float32)
    assert anchor.clip is not None
    try:
        clip = np.load(anchor.clip)
    except (OSError, ValueError) as e:
        raise UserError(f"{where}: cannot read anchor clip {anchor.clip}: {e}") from None
    if clip.ndim != 2 or clip.shape[1] != info.latent_dim:
        raise UserError(f"{where}: anchor clip {anchor.clip} has shape {clip.shape}; expected "
                        f"(frames, {info.latent_dim}) from `memoire encode` with this model")
    return clip.mean(axis=0).astype(np.float32)


def resolve_motion(anchor: Anchor, info: ModelCard, where: str = "anchor") -> np.ndarray | None:
    """An anchor's motion: its latent frames minus their mean, (frames, latent_dim) float32, or
    None for a static anchor (a vector, or a class of a model that carries no class frames)."""
    if anchor.class_name is not None:
        idx = info.class_index(anchor.class_name)
        if idx is None or info.class_frames is None:
            return None
        frames = np.asarray(info.class_frames[idx], dtype=np.float32)
    elif anchor.clip is not None:
        try:
            frames = np.load(anchor.clip).astype(np.float32)
        except (OSError, ValueError) as e:
            raise UserError(f"{where}: cannot read anchor clip {anchor.clip}: {e}") from None
    else:
        return None
    if len(frames) < 2:
        return None
    return frames - frames.mean(axis=0, keepdims=True)


class GridSampler(Protocol):
    def sample(self, xy: np.ndarray) -> np.ndarray: ...


# A latent override is reached with this time constant (the synth's speed cap still applies).
override_fade_s = 0.0


@dataclass(frozen=True)
class FieldControls:
    """Live controls over a field from outside the level (immutable): a gain on each named zone's
    weight (0..1; a zone not named keeps 1) and a latent that replaces the field's target while
    it is held (None: the field plays)."""

    zone_gains: tuple[tuple[str, float], ...] = ()
    latent: tuple[float, ...] | None = None

    def with_gains(self, gains: dict[str, float]) -> "FieldControls":
        """These controls with ``gains`` (zone name -> 0..1) set over the current ones."""
        merged = dict(self.zone_gains)
        merged.update({str(k): min(1.0, max(0.0, float(v))) for k, v in gains.items()})
        return replace(self, zone_gains=tuple(sorted(merged.items())))

    def with_latent(self, latent) -> "FieldControls":
        return replace(self, latent=None if latent is None else tuple(float(v) for v in latent))

    def gains_for(self, names: tuple[str, ...]) -> np.ndarray | None:
        """Per-zone gains in the order of ``names``; None when every one is 1."""
        gains = dict(self.zone_gains)
        g = np.array([gains.get(n, 1.0) for n in names], dtype=np.float64)
        return None if np.all(g == 1.0) else g


@dataclass(frozen=True)
class ZoneBlend:
    """The zones of a level, resolved against a model (immutable)."""

    names: tuple[str, ...]
    shapes: tuple  # Circle | Polygon, each with distance_outside
    falloff_m: np.ndarray  # (n,)
    curves: tuple[str, ...]
    priority: np.ndarray  # (n,)
    fade_s: np.ndarray  # (n,)
    latents: np.ndarray  # (n, latent_dim)
    rest_latent: np.ndarray  # (latent_dim,)
    rest_fade_s: float
    # Per zone, then the rest: the anchor's motion around its latent, (frames, latent_dim), or None.
    motions: tuple = ()
    rest_motion: np.ndarray | None = None
    # Live controls (FieldControls, via ``controlled``): per-zone gains on the curve values, (n,)
    # or None (all 1); a latent override (latent_dim,) or None.
    gains: np.ndarray | None = None
    override: np.ndarray | None = None

    def controlled(self, controls: "FieldControls") -> "ZoneBlend":
        """This blend under ``controls``: zone gains by name (zones the level lacks are ignored),
        and the override when it has the blend's latent size (another size is ignored)."""
        override = None
        if controls.latent is not None and len(controls.latent) == len(self.rest_latent):
            override = np.asarray(controls.latent, dtype=np.float64)
        return replace(self, gains=controls.gains_for(self.names), override=override)

    def coverage(self, xy: np.ndarray) -> np.ndarray:
        """Curve values c_i at points (k, 2) -> (k, n)."""
        xy = np.atleast_2d(np.asarray(xy, dtype=np.float64))
        if not self.names:
            return np.zeros((len(xy), 0))
        cols = []
        for shape, falloff, curve in zip(self.shapes, self.falloff_m, self.curves):
            u = 1.0 - shape.distance_outside(xy) / falloff
            cols.append(curve_value(curve, u))
        c = np.stack(cols, axis=1)
        return c if self.gains is None else c * self.gains[None]

    def weights(self, xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(zone weights (k, n) normalised among zones, rest weight (k,)); each row sums to 1,
        but under a latent override, where every weight is 0 (the override is the target)."""
        c = self.coverage(xy)
        if self.override is not None:
            return np.zeros_like(c), np.zeros(len(c))
        if c.shape[1] == 0:
            return c, np.ones(len(c))
        w = c * self.priority[None]
        total = w.sum(axis=1, keepdims=True)
        cover = c.max(axis=1)
        share = np.where(total > 0, w / np.where(total > 0, total, 1.0), 0.0)
        return share * cover[:, None], 1.0 - cover

    def target(self, xy: np.ndarray, weights: tuple[np.ndarray, np.ndarray] | None = None
               ) -> tuple[np.ndarray, np.ndarray]:
        """(target latents (k, latent_dim), time constants (k,) seconds) at points (k, 2);
        ``weights`` = ``self.weights(xy)`` when the caller has them already."""
        if self.override is not None:
            k = len(np.atleast_2d(xy))
            return np.repeat(self.override.astype(np.float32)[None], k, axis=0), np.full(k, override_fade_s)
        w, rest = weights if weights is not None else self.weights(xy)
        z = w @ self.latents + rest[:, None] * self.rest_latent[None]
        tau = w @ self.fade_s + rest * self.rest_fade_s
        return z.astype(np.float32), tau


def build_zone_blend(level: Level, info: ModelCard) -> ZoneBlend:
    """Resolve every zone's anchor against the model. Raises UserError listing every bad anchor."""
    problems, latents, motions = [], [], []
    for zone in level.zones:
        where = f"{level.path}:{zone.line}: zone '{zone.name}'"
        try:
            latents.append(resolve_anchor(zone.anchor, info, where))
            motions.append(resolve_motion(zone.anchor, info, where))
        except UserError as e:
            problems.append(str(e))
    try:
        rest = resolve_anchor(level.sound.rest, info, f"{level.path}: [sound] rest")
        rest_motion = resolve_motion(level.sound.rest, info, f"{level.path}: [sound] rest")
    except UserError as e:
        problems.append(str(e))
        rest = rest_motion = None
    if problems:
        raise UserError("\n".join(problems))
    return replace(weight_blend(level),
                   latents=np.array(latents, dtype=np.float64).reshape(len(level.zones), info.latent_dim),
                   rest_latent=np.asarray(rest, dtype=np.float64), motions=tuple(motions), rest_motion=rest_motion)


def weight_blend(level: Level) -> ZoneBlend:
    """The level's zone blend without a model: shapes, falloff, curves, priorities and fades, so
    ``weights``/``coverage`` are the synth's; the latents are empty (``build_zone_blend`` adds them)."""
    n = len(level.zones)
    return ZoneBlend(
        names=tuple(z.name for z in level.zones),
        shapes=tuple(z.shape for z in level.zones),
        falloff_m=np.array([z.falloff_m for z in level.zones], dtype=np.float64),
        curves=tuple(z.curve for z in level.zones),
        priority=np.array([z.priority for z in level.zones], dtype=np.float64),
        fade_s=np.array([z.fade_s for z in level.zones], dtype=np.float64),
        latents=np.zeros((n, 0)),
        rest_latent=np.zeros(0),
        rest_fade_s=level.sound.smoothing_s,
    )


@dataclass(frozen=True)
class LatentField:
    """What the synth samples: a zone blend, optionally mixed with a terrain grid (immutable)."""

    zones: ZoneBlend
    terrain: GridSampler | None = None
    terrain_mix: float = 0.0  # 0 = zones only, 1 = terrain only
    version: int = 0  # bumped by the game on level reload: the synth crossfades on a change
    # The zones before live controls (``with_controls``); None: ``zones`` has none. A control
    # change is a new ``zones`` with the same ``plain``: the synth keeps its motion players.
    plain_zones: ZoneBlend | None = None
    controls: FieldControls = FieldControls()

    @property
    def latent_dim(self) -> int:
        return int(self.zones.rest_latent.shape[0])

    @property
    def plain(self) -> ZoneBlend:
        """The level's zone blend without live controls."""
        return self.plain_zones if self.plain_zones is not None else self.zones

    def with_controls(self, controls: FieldControls) -> "LatentField":
        """This field under ``controls`` (replacing earlier ones); same version: glided, no crossfade."""
        plain = self.plain
        return replace(self, zones=plain.controlled(controls), plain_zones=plain, controls=controls)

    def target(self, x_m: float, y_m: float, weights: tuple[np.ndarray, np.ndarray] | None = None
               ) -> tuple[np.ndarray, float]:
        """(target latent (latent_dim,) float32, time constant seconds) at one point;
        ``weights`` = ``self.zones.weights`` there, when the caller has them already."""
        xy = np.array([[x_m, y_m]])
        z, tau = self.zones.target(xy, weights)
        z = z[0]
        if self.terrain is not None and self.terrain_mix > 0 and self.zones.override is None:
            zt = np.asarray(self.terrain.sample(xy), dtype=np.float32)[0]
            z = (1.0 - self.terrain_mix) * z + self.terrain_mix * zt
        return z.astype(np.float32), float(tau[0])

    def with_terrain(self, terrain: GridSampler | None, mix: float) -> "LatentField":
        return replace(self, terrain=terrain, terrain_mix=mix if terrain is not None else 0.0)


def field_mix(level: Level) -> float:
    """The terrain's share of the field for a level's [sound] field setting."""
    return {"zones": 0.0, "terrain": 1.0, "mix": level.sound.terrain_mix}[level.sound.field]


def level_field(level: Level, card: ModelCard, *, terrain: GridSampler | None = None, version: int = 0) -> LatentField:
    """The one place a level's field is made: its zone blend resolved against ``card``, with
    ``terrain`` (a baked grid) at the share the level's [sound] field asks for ("zones": none, so
    a terrain kept from an earlier version of the level falls silent). Raises UserError listing
    every bad anchor."""
    blend = build_zone_blend(level, card)
    mix = field_mix(level) if terrain is not None else 0.0
    return LatentField(blend, terrain if mix > 0 else None, mix, version)
