"""Terrains out to nn.terrain: a level's latent terrain written as an nn.terrain checkpoint.

nn.terrain (Shuoyang Zheng, github jasper-zheng/nn_terrain) saves a terrain with libtorch's
``torch::serialize::OutputArchive``: a TorchScript zip holding one module with parameters, buffers
and submodules only (no methods). Its loader (``nn.terrain~ checkpoint.pt``) reads the five sizes
with ``archive.read`` (they must be *parameters*), builds its ``FourierCPPN`` from them and loads
every parameter and buffer of that module by name (``Module::load``: the buffers must be
*buffers*). So the file written here holds exactly what the fixture checkpoint
(shared/fixtures/nn_terrain) holds, with the same kinds, names, dtypes and shape pattern:

    parameters  m_in_dim, m_out_dim, m_cmax, m_mapping_size (int64, 0-d), m_gauss_scale (float32, 0-d)
    buffers     two_pi (float32, 0-d, 2 pi), B_T (in_dim x mapping_size)       -- gauss > 0 only
    modules     fc_in_gau (Linear 2 mapping -> cmax) when gauss > 0, else fc_in_linear (in_dim -> cmax);
                fc2, fc3, fc4 (cmax -> cmax); fc_out (cmax -> latent_dim): weight, bias;
                prelu1..prelu4: weight (1,)

The module and its submodules are typed ``__torch__.Module`` as libtorch's archive types them.
A JSON note ``extra/memoire.json`` rides along in the zip (TorchScript's extra files: libtorch
and nn.terrain never read it): which level, its map in control coordinates, the model.

Control space: the checkpoint takes the network's own control coordinates, i.e. level metres put
through the level's [terrain] map_from/map_to (the identity without them: x metres east, y
metres south). ``remapped`` folds another affine map into the network exactly, so that a chosen
control rectangle covers the level's map (``memoire terrain export --map-to``): for the Fourier
layer a new B_T and a per-feature phase rotation folded into fc_in_gau's weights and bias, for
gauss 0 a new fc_in_linear.

Uses torch: commands and tests only (memoire/terrain/command.py imports it lazily).
"""

from __future__ import annotations

import io
import json
import math
import zipfile
from pathlib import Path

import numpy as np
import torch
from torch import nn

from memoire.terrain.terrain import ControlMap, Terrain, TerrainNet
from memoire.world.errors import UserError
from memoire.world.files import atomic_output

# nn.terrain~'s default feature size (its ``feature_size`` argument). Written as m_mapping_size for
# a terrain without Fourier features (gauss 0): nn.terrain still builds (and then ignores) a
# Linear(2 * mapping_size, cmax), which must not be empty.
nn_terrain_default_mapping_size = 256
# The note beside the tensors (TorchScript extra file; ignored by libtorch's archive reader).
note_name = "memoire.json"
# libtorch's archive names its module type so; submodules get ___torch_mangle_N.Module.
_qualname = "__torch__.Module"


class _Linear(nn.Module):
    """A linear layer as libtorch's archive stores one: weight and bias, nothing else."""

    _jit_override_qualname = _qualname

    def __init__(self, weight: torch.Tensor, bias: torch.Tensor):
        super().__init__()
        self.weight = nn.Parameter(weight.detach().clone().contiguous())
        self.bias = nn.Parameter(bias.detach().clone().contiguous())


class _PReLU(nn.Module):
    _jit_override_qualname = _qualname

    def __init__(self, weight: torch.Tensor):
        super().__init__()
        self.weight = nn.Parameter(weight.detach().clone().reshape(1).contiguous())


class _Checkpoint(nn.Module):
    """The root module: nn.terrain's FourierCPPN state plus its five sizes."""

    _jit_override_qualname = _qualname


def _size(value: int) -> nn.Parameter:
    return nn.Parameter(torch.tensor(int(value), dtype=torch.int64), requires_grad=False)


def checkpoint_module(net: TerrainNet) -> torch.jit.ScriptModule:
    """``net`` as the module nn.terrain saves (scripted; no methods)."""
    state = {k: v.detach().to(torch.float32) for k, v in net.state_dict().items()}
    root = _Checkpoint()
    if net.mapping_size:
        root.register_buffer("two_pi", torch.tensor(2 * math.pi, dtype=torch.float32))
        root.register_buffer("B_T", state["B"].clone().contiguous())
        root.fc_in_gau = _Linear(state["fc_in.weight"], state["fc_in.bias"])
    else:
        root.fc_in_linear = _Linear(state["fc_in.weight"], state["fc_in.bias"])
    root.prelu1 = _PReLU(state["prelu1.weight"])
    for k in (2, 3, 4):
        setattr(root, f"fc{k}", _Linear(state[f"fc{k}.weight"], state[f"fc{k}.bias"]))
        setattr(root, f"prelu{k}", _PReLU(state[f"prelu{k}.weight"]))
    root.fc_out = _Linear(state["fc_out.weight"], state["fc_out.bias"])
    root.m_in_dim = _size(net.in_dim)
    root.m_out_dim = _size(net.out_dim)
    root.m_cmax = _size(net.width)
    root.m_gauss_scale = nn.Parameter(torch.tensor(float(net.gauss) if net.mapping_size else 0.0,
                                                   dtype=torch.float32), requires_grad=False)
    root.m_mapping_size = _size(net.mapping_size or nn_terrain_default_mapping_size)
    return torch.jit.script(root.eval())


def checkpoint_bytes(net: TerrainNet, note: dict | None = None) -> bytes:
    """The checkpoint file's bytes (a TorchScript zip), with ``note`` as extra/memoire.json."""
    buf = io.BytesIO()
    extra = {note_name: json.dumps(note or {}, indent=1, sort_keys=True)}
    torch.jit.save(checkpoint_module(net), buf, _extra_files=extra)
    return buf.getvalue()


def write_checkpoint(net: TerrainNet, out: Path, note: dict | None = None) -> None:
    """Write ``net`` as an nn.terrain checkpoint to ``out``, whole or not at all."""
    data = checkpoint_bytes(net, note)
    with atomic_output(Path(out)) as tmp:
        tmp.write_bytes(data)


def read_note(path: Path) -> dict:
    """extra/memoire.json of a checkpoint written here ({} for nn.terrain's own)."""
    with zipfile.ZipFile(path) as z:
        for name in z.namelist():
            if name.endswith("/extra/" + note_name):
                return json.loads(z.read(name).decode("utf-8"))
    return {}


def checkpoint_layout(path: Path) -> dict[str, tuple[str, tuple[int, ...], str]]:
    """{name: (kind, shape, dtype)} of a checkpoint's tensors, kind "parameter" or "buffer": what
    nn.terrain's loader reads, for comparing a file with the fixture."""
    module = torch.jit.load(str(path), map_location="cpu")
    out = {n: ("parameter", tuple(t.shape), str(t.dtype).replace("torch.", "")) for n, t in module.named_parameters()}
    out.update({n: ("buffer", tuple(t.shape), str(t.dtype).replace("torch.", "")) for n, t in module.named_buffers()})
    return out


# ---------------------------------------------------------------------------------------------
# Another control space, folded into the network


def remapped(net: TerrainNet, scale: tuple[float, float], offset: tuple[float, float]) -> TerrainNet:
    """A network ``g`` with g(u) = net(u * scale + offset) for new control coordinates u (per axis).

    Fourier layer: v = 2 pi (u s + o) @ B = 2 pi u @ (diag(s) B) + phi with phi = 2 pi o @ B; then
    [sin v, cos v] with the phase phi is a fixed rotation of each feature's (sin, cos) pair, folded
    into fc_in's weight columns: sin(w + phi) = sin w cos phi + cos w sin phi, cos(w + phi) = cos w
    cos phi - sin w sin phi. Without features: fc_in(u s + o) = (W diag(s)) u + (W o + b).
    Computed in float64, stored in float32."""
    s = np.asarray(scale, np.float64)
    o = np.asarray(offset, np.float64)
    if net.in_dim != len(s):
        raise UserError(f"this terrain takes {net.in_dim} control coordinates; a level map gives {len(s)}")
    state = {k: v.detach().to(torch.float64).numpy() for k, v in net.state_dict().items()}
    W, b = state["fc_in.weight"], state["fc_in.bias"]
    if net.mapping_size:
        B = state["B"]  # (in_dim, m)
        m = B.shape[1]
        phi = 2 * math.pi * (o @ B)  # (m,)
        c, sn = np.cos(phi), np.sin(phi)
        Ws, Wc = W[:, :m], W[:, m:]  # columns for sin w and cos w
        new_Ws = Ws * c - Wc * sn
        new_Wc = Ws * sn + Wc * c
        state["B"] = B * s[:, None]
        state["fc_in.weight"] = np.concatenate([new_Ws, new_Wc], axis=1)
    else:
        state["fc_in.weight"] = W * s[None, :]
        state["fc_in.bias"] = W @ o + b
    out = TerrainNet(net.in_dim, net.out_dim, net.width, max(1, net.mapping_size),
                     net.gauss if net.mapping_size else 0.0)
    out.load_state_dict({k: torch.from_numpy(np.ascontiguousarray(v, dtype=np.float32)) for k, v in state.items()})
    return out.eval()


def export_control_map(terrain: Terrain, map_size_m: tuple[float, float],
                       map_to: tuple[float, float, float, float] | None) -> tuple[TerrainNet, ControlMap]:
    """The network to write and the map from level metres to the exported control space.

    ``map_to`` None: the terrain's own control space (the level's map_from/map_to, identity without
    them). Else (X0, Y0, X1, Y1): the level's map corner (0, 0) goes to (X0, Y0) and (w, h) to
    (X1, Y1), and the network is remapped so that it still sounds the same at every spot."""
    if map_to is None:
        return terrain.net, terrain.control_map
    x0, y0, x1, y1 = map_to
    w, h = map_size_m
    if x1 == x0 or y1 == y0:
        raise UserError(f"--map-to {x0:g} {y0:g} {x1:g} {y1:g}: the rectangle has no area (X0 = X1 or Y0 = Y1)")
    new_map = ControlMap.from_rects(((0.0, 0.0), (w, h)), ((x0, y0), (x1, y1)))
    # u (new control) -> metres -> the terrain's own control: own = (u - o_new) / s_new * s_own + o_own
    s_new, o_new = np.asarray(new_map.scale), np.asarray(new_map.offset)
    s_own, o_own = np.asarray(terrain.control_map.scale), np.asarray(terrain.control_map.offset)
    scale = s_own / s_new
    offset = o_own - o_new * s_own / s_new
    return remapped(terrain.net, tuple(scale), tuple(offset)), new_map
