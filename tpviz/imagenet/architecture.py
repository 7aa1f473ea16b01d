"""Architecture facts computed from a loaded model: parameters, depth, compute, receptive field, head.

Nothing here is typed in: every number is measured on the model object (its weights do not matter, so a
model on random weights gives the same table). Used by notebooks 01 and 03 before the questions that ask
students to relate what they see to the architectures.
"""

from __future__ import annotations

import torch
from torch import fx, nn
from torch.utils.flop_counter import FlopCounterMode

from .. import validate
from ..errors import InputError

WEIGHT_LAYERS = (nn.Conv2d, nn.Linear)
WINDOW_LAYERS = (nn.Conv2d, nn.MaxPool2d, nn.AvgPool2d)


def architecture_facts(model: nn.Module, *, size: int = 224) -> dict[str, object]:
    """One row of facts about ``model`` for an input (1, 3, size, size), ready for ``tpviz.format_table``.

    Keys: model, parameters_M (millions), weight_layers_longest_path (convolutions and fully connected
    layers on the longest input-to-output path), GMACs (multiply-adds per image, in billions, counted by
    ``torch.utils.flop_counter``), map_after_first_pool (how early the image is downsampled: the spatial
    size after the first pooling layer), receptive_field_px (of one unit of the top convolution, from the
    kernels, strides and paddings), map_before_head (the spatial size of the feature map the head gets) and
    head (what turns that map into class scores). The model is run once, without gradients, in eval mode
    (every module's training flag restored afterwards), and left as it was found.
    """
    size = validate.count(size, "size", low=32, hint="(ImageNet models take 224)")
    name = getattr(getattr(model, "tpviz_info", None), "name", type(model).__name__)
    graph = _trace(model)
    param = next(model.parameters(), None)
    x = torch.zeros(1, 3, size, size, device=param.device if param is not None else None,
                    dtype=param.dtype if param is not None else None)
    modes = [(m, m.training) for m in model.modules()]
    try:
        model.eval()
        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            model(x)
        with torch.no_grad():
            first_pool = _map_after_first_pool(model, x)
        with torch.no_grad():
            before_head = _map_before_head(model, x)
    finally:
        for m, training in modes:
            m.training = training
    return {
        "model": name,
        "parameters_M": round(sum(p.numel() for p in model.parameters()) / 1e6, 2),
        "weight_layers_longest_path": longest_weight_path(model, graph),
        "GMACs": round(counter.get_total_flops() / 2 / 1e9, 2),
        "map_after_first_pool": "?" if first_pool is None else f"{first_pool[0]}x{first_pool[1]}",
        "receptive_field_px": receptive_field(model, graph),
        "map_before_head": "?" if before_head is None else f"{before_head[0]}x{before_head[1]}",
        "head": describe_head(model, before_head),
    }


def _trace(model: nn.Module) -> fx.Graph:
    try:
        return fx.symbolic_trace(model).graph
    except Exception as err:  # noqa: BLE001 (fx raises many kinds of errors on dynamic control flow)
        raise InputError(f"cannot trace {type(model).__name__} to read its layers ({err}); "
                         "architecture_facts needs a model without data-dependent control flow") from None


def longest_weight_path(model: nn.Module, graph: fx.Graph | None = None) -> int:
    """The number of convolutions and linear layers on the longest path from input to output (a
    branch point such as a fire module's two expand convolutions counts once)."""
    graph = _trace(model) if graph is None else graph
    modules = dict(model.named_modules())
    depth: dict[fx.Node, int] = {}
    for node in graph.nodes:
        before = max((depth[a] for a in node.all_input_nodes), default=0)
        own = node.op == "call_module" and isinstance(modules[node.target], WEIGHT_LAYERS)
        depth[node] = before + int(own)
    return max(depth.values(), default=0)


def receptive_field(model: nn.Module, graph: fx.Graph | None = None) -> int:
    """Receptive field in input pixels of one unit of the top convolution (the largest over all
    convolutions): along every path, each convolution or pooling of kernel k (dilation d) adds d(k - 1)
    times the product of the strides before it; where paths meet the largest field is kept."""
    graph = _trace(model) if graph is None else graph
    modules = dict(model.named_modules())
    field: dict[fx.Node, tuple[int, int]] = {}  # node -> (receptive field, jump = product of strides)
    convs: list[int] = []
    for node in graph.nodes:
        ins = [field[a] for a in node.all_input_nodes if a in field]
        rf, jump = max(ins) if ins else (1, 1)
        layer = modules.get(node.target) if node.op == "call_module" else None
        if isinstance(layer, WINDOW_LAYERS):
            k, s, d = _pair(layer.kernel_size), _pair(layer.stride), _pair(getattr(layer, "dilation", 1))
            rf, jump = rf + (d * (k - 1)) * jump, jump * s
        field[node] = (rf, jump)
        if isinstance(layer, nn.Conv2d):
            convs.append(rf)
    if not convs:
        raise InputError(f"{type(model).__name__} has no convolution: no receptive field to compute")
    return max(convs)


def _pair(value: int | tuple[int, ...]) -> int:
    if isinstance(value, tuple):
        if len(set(value)) != 1:
            raise InputError(f"non-square window {value}: receptive_field handles square kernels only")
        return int(value[0])
    return int(value)


def _map_after_first_pool(model: nn.Module, x: torch.Tensor) -> tuple[int, int] | None:
    """(H, W) of the first pooling layer's output on ``x`` (a forward hook, removed before returning), or None."""
    pool = next((m for m in model.modules() if isinstance(m, (nn.MaxPool2d, nn.AvgPool2d))), None)
    if pool is None:
        return None
    seen: list[tuple[int, int]] = []
    handle = pool.register_forward_hook(lambda _m, _i, out: seen.append((int(out.shape[-2]), int(out.shape[-1]))))
    try:
        model(x)
    finally:
        handle.remove()
    return seen[0] if seen else None


def _map_before_head(model: nn.Module, x: torch.Tensor) -> tuple[int, int] | None:
    """(H, W) of ``model.features(x)`` (torchvision's name for the convolutional trunk), or None."""
    features = getattr(model, "features", None)
    if not isinstance(features, nn.Module):
        return None
    out = features(x)
    return (int(out.shape[-2]), int(out.shape[-1])) if out.ndim == 4 else None


def describe_head(model: nn.Module, before_head: tuple[int, int] | None) -> str:
    """What turns the trunk's map into class scores, read from the layers after it (``model.classifier``)."""
    head = getattr(model, "classifier", None)
    if not isinstance(head, nn.Module):
        return "?"
    where = "" if before_head is None else f" {before_head[0]}x{before_head[1]}"
    linears = [m for m in head.modules() if isinstance(m, nn.Linear)]
    convs = [m for m in head.modules() if isinstance(m, nn.Conv2d)]
    pools = [m for m in head.modules() if isinstance(m, (nn.AdaptiveAvgPool2d, nn.AvgPool2d))]
    if linears:
        sizes = " -> ".join(str(n) for n in [linears[0].in_features, *(m.out_features for m in linears)])
        return f"{len(linears)} fully connected layers ({sizes}) on the flattened{where} map"
    if convs and pools:
        relu = " + ReLU" if any(isinstance(m, nn.ReLU) for m in head.modules()) else ""
        return (f"{convs[-1].kernel_size[0]}x{convs[-1].kernel_size[1]} conv to {convs[-1].out_channels} "
                f"class maps{relu}, averaged over the{where} positions")
    return type(head).__name__
