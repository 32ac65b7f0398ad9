"""TorchScript export with the RAVE / nn~ interface, plus per-class latent statistics.

The exported module (see ``ScriptedSynth``) offers:

* ``encode(x)``: (B, 1, T) -> (B, D, T // hop_samples), stateless;
* ``decode(z)``: (B, D, n) -> (B, 1, n * hop_samples), STREAMING: caches of past inputs and
  the noise read position live in buffers, so consecutive calls continue one sound; call
  ``reset()`` to start a new one;
* ``forward(x)`` = ``decode(encode(x))``;
* for each of these methods, what nn_tilde's ``Module.register_method`` stores: the int64
  buffer ``<method>_params`` (in_channels, in_ratio, out_channels, out_ratio:
  ``encode_params`` [1, 1, D, hop], ``decode_params`` [D, hop, 1, 1], ``forward_params``
  [1, 1, 1, 1]) and the lists of strings ``<method>_input_labels`` / ``<method>_output_labels``
  (one per channel: "(signal) channel 0", "(signal) latent dim 0", ...);
* ``get_methods()`` / ``get_attributes()`` -> List[str];
* attributes ``sampling_rate`` (Hz) and ``latent_class_names`` (List[str]); buffers
  ``latent_class_mean`` and ``latent_class_std`` (C, D) float32, from the encoder over the
  corpus, in the order of ``latent_class_names``; optionally ``latent_class_trajectory``
  (C, D, T) float32, each class's encoded corpus audio, which the game plays as the class's
  motion around its mean (a sparse class's static mean decodes to near silence).

Every advertised attribute (``get_attributes()``) has what nn~ calls, as nn_tilde's
``Module.register_attribute`` lays it out: the int64 buffer ``<name>_params`` (one type code
per value, nn_tilde's hash: bool 0, int 1, float 2, str 3), ``get_<name>()`` returning a tuple
of those values, and ``set_<name>(value0, value1, ...)`` returning 0 (done) or -1 (refused:
nn~ prints "setter for <name> failed"). Both attributes are read-only properties of the
trained model: their setters accept the current value and refuse any other.
``latent_class_names`` is advertised only when the model has classes; its getter and setter
take one string per class, so they are generated for the class count (see
``_class_names_accessors``).
"""


import copy
import linecache
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import torch
from torch import nn

from memoire.rave.layers import set_streaming
from memoire.rave.model import AutoEncoder, ModelConfig

# nn_tilde's type codes for attribute values (nn_tilde.TYPE_HASH), as nn~'s backend reads them.
NN_TILDE_TYPE = {bool: 0, int: 1, float: 2, str: 3}


def signal_labels(n: int) -> List[str]:
    """Inlet/outlet labels of an audio signal's channels."""
    return [f"(signal) channel {i}" for i in range(n)]


def latent_labels(n: int) -> List[str]:
    """Inlet/outlet labels of the latent's dimensions (each arrives in nn~ as a signal)."""
    return [f"(signal) latent dim {i}" for i in range(n)]


class ScriptedSynth(nn.Module):
    """Wrapper scripted by ``export_torchscript``; not meant for training.

    ``ScriptedSynth(model, class_names, ...)`` returns an instance of a subclass made for
    ``len(class_names)`` classes (it carries the generated ``get_latent_class_names`` /
    ``set_latent_class_names``); with no classes, of this class itself.
    """

    sampling_rate: int
    hop_samples: int
    latent_dim: int
    latent_class_names: List[str]
    methods: List[str]
    attributes: List[str]
    encode_input_labels: List[str]
    encode_output_labels: List[str]
    decode_input_labels: List[str]
    decode_output_labels: List[str]
    forward_input_labels: List[str]
    forward_output_labels: List[str]

    def __new__(cls, model=None, class_names: Sequence[str] = (), *args, **kwargs):
        if cls is ScriptedSynth and len(class_names) > 0:
            cls = _with_class_names(len(class_names))
        return super().__new__(cls)

    def __init__(self, model: AutoEncoder, class_names: List[str], class_mean: torch.Tensor,
                 class_std: torch.Tensor, class_trajectory: Optional[torch.Tensor] = None) -> None:
        super().__init__()
        model = copy.deepcopy(model).cpu().eval()
        for p in model.parameters():
            p.requires_grad_(False)
        set_streaming(model.decoder, True)
        set_streaming(model.pqmf, True)
        cfg = model.cfg
        self.pqmf = model.pqmf
        self.encoder = model.encoder
        self.decoder = model.decoder
        self.sampling_rate = int(cfg.sample_rate_hz)
        self.hop_samples = int(cfg.hop_samples)
        self.latent_dim = int(cfg.latent_dim)
        d, hop = self.latent_dim, self.hop_samples
        self.methods = []
        self.attributes = []
        self._register_method("encode", 1, 1, d, hop, signal_labels(1), latent_labels(d))
        self._register_method("decode", d, hop, 1, 1, latent_labels(d), signal_labels(1))
        self._register_method("forward", 1, 1, 1, 1, signal_labels(1), signal_labels(1))
        if class_mean.shape != (len(class_names), d) or class_std.shape != class_mean.shape:
            raise ValueError("class statistics must be (classes, latent_dim)")
        n_classes = getattr(type(self), "n_class_names", 0)
        if n_classes != len(class_names):
            raise ValueError(f"{type(self).__name__} is made for {n_classes} class names, got {len(class_names)}")
        self.latent_class_names = [str(n) for n in class_names]
        self._register_attribute("sampling_rate", [int])
        if class_names:
            self._register_attribute("latent_class_names", [str] * len(class_names))
        self.register_buffer("latent_class_mean", class_mean.detach().float().cpu().contiguous())
        self.register_buffer("latent_class_std", class_std.detach().float().cpu().contiguous())
        if class_trajectory is not None:
            if class_trajectory.dim() != 3 or class_trajectory.shape[:2] != (len(class_names), d):
                raise ValueError("class trajectories must be (classes, latent_dim, frames)")
            self.register_buffer("latent_class_trajectory", class_trajectory.detach().float().cpu().contiguous())

    def _register_method(self, name: str, in_channels: int, in_ratio: int, out_channels: int, out_ratio: int,
                         input_labels: List[str], output_labels: List[str]) -> None:
        """What nn_tilde's ``Module.register_method`` stores for a method nn~ may call."""
        if len(input_labels) != in_channels or len(output_labels) != out_channels:
            raise ValueError(f"{name}: one label per channel")
        self.register_buffer(f"{name}_params", torch.tensor([in_channels, in_ratio, out_channels, out_ratio]))
        setattr(self, f"{name}_input_labels", list(input_labels))
        setattr(self, f"{name}_output_labels", list(output_labels))
        self.methods.append(name)

    def _register_attribute(self, name: str, types: List[type]) -> None:
        """What nn_tilde's ``Module.register_attribute`` stores: the type codes of the values
        ``get_<name>()`` returns and ``set_<name>(...)`` takes (both defined on the class)."""
        self.register_buffer(f"{name}_params", torch.tensor([NN_TILDE_TYPE[t] for t in types], dtype=torch.long))
        self.attributes.append(name)

    @torch.jit.export
    def encode(self, x: torch.Tensor) -> torch.Tensor:
        n = x.shape[-1] // self.hop_samples
        x = x[:, :, : n * self.hop_samples]
        x = torch.nn.functional.pad(x, (0, self.pqmf.n_taps - 1))
        bands = torch.nn.functional.conv1d(x, self.pqmf.analysis_weight, stride=self.pqmf.n_bands)
        return self.encoder(bands)

    @torch.jit.export
    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.pqmf.synthesis(self.decoder(z, None))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))

    @torch.jit.export
    def reset(self) -> None:
        """Forget the streaming state (caches and noise position)."""
        self.pqmf.reset()
        self.decoder.reset()

    @torch.jit.export
    def get_methods(self) -> List[str]:
        return self.methods

    @torch.jit.export
    def get_attributes(self) -> List[str]:
        return self.attributes

    @torch.jit.export
    def get_sampling_rate(self) -> Tuple[int]:
        return (self.sampling_rate,)

    @torch.jit.export
    def set_sampling_rate(self, sampling_rate0: int) -> int:
        """Read-only: the rate the model was trained at. 0 for that rate, -1 for any other."""
        if sampling_rate0 == self.sampling_rate:
            return 0
        return -1

    def _same_class_names(self, names: List[str]) -> int:
        """The class names are the corpus's, fixed at training: 0 for them, -1 otherwise."""
        if names == self.latent_class_names:
            return 0
        return -1


_GENERATED: Dict[int, type] = {}


def _class_names_accessors(n: int) -> str:
    """Source of ``get_latent_class_names`` / ``set_latent_class_names`` for ``n`` classes:
    nn~ passes one argument per entry of ``latent_class_names_params``, so the setter's
    signature has ``n`` strings, and the getter returns a tuple of ``n``."""
    args = [f"latent_class_names{i}" for i in range(n)]
    items = ", ".join(f"self.latent_class_names[{i}]" for i in range(n))
    return (
        "@torch.jit.export\n"
        f"def get_latent_class_names(self) -> Tuple[{', '.join(['str'] * n)}]:\n"
        f"    return ({items},)\n"
        "\n"
        "@torch.jit.export\n"
        f"def set_latent_class_names(self, {', '.join(a + ': str' for a in args)}) -> int:\n"
        f"    return self._same_class_names([{', '.join(args)}])\n"
    )


def _with_class_names(n: int) -> type:
    """The ScriptedSynth subclass for ``n`` class names (one per count: TorchScript compiles a
    class's methods once, so two counts must not share a class)."""
    if n not in _GENERATED:
        source = _class_names_accessors(n)
        # TorchScript reads a method's source through inspect/linecache: give it one.
        filename = f"<memoire.rave.export: latent_class_names accessors, {n} classes>"
        linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
        namespace: dict = {}
        exec(compile(source, filename, "exec"), {"torch": torch, "Tuple": Tuple}, namespace)
        name = f"ScriptedSynth{n}Classes"
        _GENERATED[n] = type(name, (ScriptedSynth,), {
            "__module__": __name__, "__qualname__": name, "n_class_names": n,
            "get_latent_class_names": namespace["get_latent_class_names"],
            "set_latent_class_names": namespace["set_latent_class_names"],
        })
    return _GENERATED[n]


def export_torchscript(model: AutoEncoder, path: Path, class_names: List[str],
                       class_mean: torch.Tensor, class_std: torch.Tensor,
                       class_trajectory: Optional[torch.Tensor] = None) -> torch.jit.ScriptModule:
    """Script ``model`` with the nn~ interface, save it to ``path`` and return it."""
    scripted = torch.jit.script(ScriptedSynth(model, class_names, class_mean, class_std, class_trajectory))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    scripted.save(str(path))
    return scripted


def load_exported(path: Path, cfg: ModelConfig = ModelConfig()):
    """Read an exported file back into what ``export_torchscript`` takes: (AutoEncoder with
    its weights, class names, class mean, class std, class trajectory or None). ``cfg`` must
    be the architecture it was trained with (the file does not record it; the default is the
    shipped model's); a mismatch is a ValueError naming the differing tensors."""
    scripted = torch.jit.load(str(path), map_location="cpu")
    state = scripted.state_dict()
    model = AutoEncoder(cfg)
    own = model.state_dict()
    weights = {k: v for k, v in state.items() if k.split(".")[0] in ("pqmf", "encoder", "decoder")}
    bad = sorted(set(own) ^ set(weights)) + sorted(k for k in own if k in weights and own[k].shape != weights[k].shape)
    if bad:
        raise ValueError(f"{path}: not a {cfg} export (differing tensors: {', '.join(bad[:6])})")
    model.load_state_dict(weights, strict=True)
    model.decoder.reset()  # a fresh streaming state, whatever the file held
    model.pqmf.reset()
    names = [str(n) for n in scripted.latent_class_names]
    trajectory = state.get("latent_class_trajectory")
    return model.eval(), names, state["latent_class_mean"], state["latent_class_std"], trajectory


def reexport(source: Path, target: Path, cfg: ModelConfig = ModelConfig()) -> torch.jit.ScriptModule:
    """Export the weights and class statistics of an existing export again with this
    module's interface (e.g. an older file without the nn~ attribute accessors)."""
    model, names, mean, std, trajectory = load_exported(source, cfg)
    return export_torchscript(model, target, names, mean, std, trajectory)


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description="Re-export an exported model with the current nn~ interface.")
    parser.add_argument("source", type=Path)
    parser.add_argument("target", type=Path)
    a = parser.parse_args()
    reexport(a.source, a.target)
    print(f"wrote {a.target}")
