"""nn~ / Max compatibility of the export, on the shipped model and on a fresh tiny export.

Two layers of checks:

* what nn~'s C++ backend (acids-ircam/nn_tilde, src/backend/backend.cpp) does with a model,
  redone here in Python: every name in ``get_attributes()`` has ``<name>_params`` (type codes),
  ``get_<name>()`` (a tuple or list, one value per code) and ``set_<name>(...)`` (one argument
  per code, returns an int, 0 = done); every name in ``get_methods()`` has ``<method>_params``
  (4 ints) and ``<method>_input_labels`` / ``<method>_output_labels``, and the method maps
  (1, in_channels, n / in_ratio) to (1, out_channels, n / out_ratio) float32;
* with nn_tilde's own Python package (``nn-tilde`` on PyPI; skipped where it is not installed):
  its ``Module.register_method`` checks run on our methods, and a module that registers the
  same methods and attributes through nn_tilde has the same buffers, labels and accessor
  signatures as our export. The package is not a test dependency: nn-tilde 1.6.0 requires
  torch==2.5 (we pin 2.13); install it locally with
  ``pip install --no-deps nn-tilde==1.6.0 cached_conv==2.5.0``.
"""

from pathlib import Path

import pytest
import torch

from memoire.rave.export import export_torchscript
from memoire.rave.model import AutoEncoder
from rave_tiny import TINY_MODEL

ROOT = Path(__file__).resolve().parents[1]
SHIPPED_MODEL = ROOT / "assets" / "models" / "hutong.ts"

# nn_tilde's type codes (nn_tilde.TYPE_HASH) and how nn~ parses a message argument for each
# (parsing_utils.cpp: stoi, which stops at the point of Pd's "44100.000000", stof, boolalpha).
PARSE = {0: lambda s: s.lower() == "true", 1: lambda s: int(s.split(".")[0]), 2: float, 3: str}
PYTHON_TYPE = {0: bool, 1: int, 2: float, 3: str}
SCHEMA_TYPE = {0: "bool", 1: "int", 2: "float", 3: "str"}


@pytest.fixture(scope="module", params=["shipped", "tiny"])
def model(request, tmp_path_factory):
    torch.set_num_threads(1)
    if request.param == "shipped":
        path = SHIPPED_MODEL
    else:
        torch.manual_seed(0)
        d = TINY_MODEL.latent_dim
        path = tmp_path_factory.mktemp("nn") / "tiny.ts"
        export_torchscript(AutoEncoder(TINY_MODEL).eval(), path, ["bells", "rain", "wind"],
                           torch.zeros(3, d), torch.ones(3, d), torch.zeros(3, d, 5))
    return torch.jit.load(str(path), map_location="cpu").eval()


def _has_method(m, name: str) -> bool:
    return m._c._has_method(name)


def _params(m, name: str) -> list:
    p = getattr(m, f"{name}_params")
    assert isinstance(p, torch.Tensor) and p.dtype == torch.int64 and p.dim() == 1, f"{name}_params"
    return [int(v) for v in p]


def nn_get_as_string(m, name: str) -> str:
    """Backend::get_attribute_as_string (what nn~'s [get name( and Max's nn.info print)."""
    if not _has_method(m, f"get_{name}"):
        raise LookupError(f"getter for attribute {name} not found in model")
    values = list(getattr(m, f"get_{name}")())  # nn~ takes a list, else a tuple
    codes = _params(m, name)
    assert len(values) == len(codes)
    out = []
    for code, value in zip(codes, values):
        assert isinstance(value, PYTHON_TYPE[code]), (name, value, code)
        out.append(("true" if value else "false") if code == 0 else str(value))
    return " ".join(out)


def nn_set(m, name: str, args: list) -> None:
    """Backend::set_attribute: what nn~ does with [set name arg0 arg1 ...(."""
    if not _has_method(m, f"set_{name}"):
        raise LookupError(f"setter for attribute {name} not found in model")
    codes = _params(m, name)
    if len(args) != len(codes):
        raise ValueError(f"wrong number of elements : setter seems to have {len(codes)}, but {len(args)} was given")
    result = getattr(m, f"set_{name}")(*[PARSE[c](a) for c, a in zip(codes, args)])
    if not isinstance(result, int) or result != 0:
        raise RuntimeError(f"setter for {name} failed")


def test_every_advertised_attribute_has_params_getter_and_setter(model):
    names = model.get_attributes()
    assert "sampling_rate" in names and "latent_class_names" in names
    for name in names:
        codes = _params(model, name)
        assert codes and all(c in SCHEMA_TYPE for c in codes), name
        setter = model._c._get_method(f"set_{name}").schema
        assert [a.type.annotation_str for a in setter.arguments[1:]] == [SCHEMA_TYPE[c] for c in codes]
        assert setter.returns[0].type.annotation_str == "int"
        current = nn_get_as_string(model, name).split(" ")
        nn_set(model, name, current)  # set(get()) is accepted
        assert nn_get_as_string(model, name).split(" ") == current


def test_attribute_values_as_nn_tilde_prints_them(model):
    assert nn_get_as_string(model, "sampling_rate") == "44100"
    nn_set(model, "sampling_rate", ["44100.000000"])  # Pd's [set sampling_rate 44100( sends a float
    assert nn_get_as_string(model, "latent_class_names") == " ".join(model.latent_class_names)


def test_read_only_attributes_refuse_other_values(model):
    with pytest.raises(RuntimeError, match="setter for sampling_rate failed"):
        nn_set(model, "sampling_rate", ["48000"])
    names = list(model.latent_class_names)
    with pytest.raises(RuntimeError, match="failed"):
        nn_set(model, "latent_class_names", names[::-1])
    with pytest.raises(ValueError, match="wrong number of elements"):
        nn_set(model, "latent_class_names", names[:-1])
    assert model.sampling_rate == 44100 and list(model.latent_class_names) == names


def test_every_method_has_params_labels_and_the_shapes_nn_tilde_expects(model):
    methods = model.get_methods()
    assert set(methods) == {"encode", "decode", "forward"}
    for method in methods:
        in_ch, in_ratio, out_ch, out_ratio = _params(model, method)
        inputs, outputs = getattr(model, f"{method}_input_labels"), getattr(model, f"{method}_output_labels")
        assert len(inputs) == in_ch and len(outputs) == out_ch
        assert all(isinstance(s, str) and s.startswith("(signal) ") for s in inputs + outputs)
        n = 8192  # a buffer of nn~'s default size
        with torch.no_grad():
            y = getattr(model, method)(torch.zeros(1, in_ch, n // in_ratio))
        assert y.shape == (1, out_ch, n // out_ratio) and y.dtype == torch.float32
        model.reset()
    d = int(model.decode_params[0])
    assert model.decode_input_labels == [f"(signal) latent dim {i}" for i in range(d)]
    assert model.decode_output_labels == ["(signal) channel 0"]
    assert model.encode_input_labels == ["(signal) channel 0"]
    assert model.encode_output_labels == model.decode_input_labels
    assert model.forward_input_labels == model.forward_output_labels == ["(signal) channel 0"]


# --- with nn_tilde's own package --------------------------------------------------------

try:
    import nn_tilde
except ImportError:  # not a test dependency (it pins torch 2.5): the test below is skipped
    nn_tilde = None

needs_nn_tilde = pytest.mark.skipif(
    nn_tilde is None, reason="nn-tilde not installed (pip install --no-deps nn-tilde==1.6.0 cached_conv==2.5.0)")


class NnTildeView(nn_tilde.Module if nn_tilde is not None else torch.nn.Module):
    """Our export's methods and attributes registered through nn_tilde's own Module: its
    register_method tests each method (batch 1, and batch 4 for mc.nn~), and the scripted
    result is what nn_tilde itself would have exported for the same model."""

    def __init__(self, inner: torch.jit.ScriptModule) -> None:
        super().__init__()
        self.inner = inner
        for method in inner.get_methods():
            in_ch, in_ratio, out_ch, out_ratio = (int(v) for v in getattr(inner, f"{method}_params"))
            self.register_method(method, in_ch, in_ratio, out_ch, out_ratio,
                                 input_labels=list(getattr(inner, f"{method}_input_labels")),
                                 output_labels=list(getattr(inner, f"{method}_output_labels")))
            inner.reset()
        for name in inner.get_attributes():
            self.register_attribute(name, tuple(getattr(inner, f"get_{name}")()))

    @torch.jit.export
    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.inner.encode(x)

    @torch.jit.export
    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.inner.decode(z)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.inner.forward(x)


def _signature(schema) -> tuple:
    return tuple(a.type.annotation_str for a in schema.arguments[1:]), tuple(r.type.annotation_str for r in schema.returns)


@needs_nn_tilde
def test_nn_tilde_registers_the_same_interface(model):
    with torch.no_grad():
        view = torch.jit.script(NnTildeView(model))  # runs nn_tilde's method checks
    assert view.get_methods() == model.get_methods()
    assert view.get_attributes() == model.get_attributes()
    for method in model.get_methods():
        assert torch.equal(getattr(view, f"{method}_params"), getattr(model, f"{method}_params"))
        for side in ("input", "output"):
            assert getattr(view, f"{method}_{side}_labels") == getattr(model, f"{method}_{side}_labels")
    for name in model.get_attributes():
        assert torch.equal(getattr(view, f"{name}_params"), getattr(model, f"{name}_params")), name
        for accessor in (f"get_{name}", f"set_{name}"):
            theirs, ours = view._c._get_method(accessor).schema, model._c._get_method(accessor).schema
            assert _signature(theirs) == _signature(ours), accessor
        assert tuple(getattr(view, f"get_{name}")()) == tuple(getattr(model, f"get_{name}")())
