"""The arbitrary-style network: faithful to the ONNX release it was converted from, and every way a user
reaches it (a painting, a blend, strength, colours; render, image) with real outputs."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from vidstyle.errors import VidstyleError
from vidstyle.media.synth import ClipSpec, make_clip, scene
from vidstyle.models import arbitrary
from vidstyle.pipeline.choice import StyleChoice, content_code, make_recipe, painting_code, parse_blend
from vidstyle.pipeline.stylizers import CodeRecipe, stylize_still

from .helpers import (
    SHARED,
    audio_packets,
    frame_times,
    frames_rgb,
    leftovers,
    needs_shared,
    one_line_error,
    vidstyle,
    vidstyle_here,
)

PAINTINGS = ["wave.jpg", "la_muse.jpg"]
PHOTOS = ["photos/chicago.jpg", "photos/stata.jpg"]


def float_activations(path) -> bytes:
    """The ONNX graph with its activation QuantizeLinear/DequantizeLinear nodes made Identity: the same
    network and (dequantised int8) weights, with float activations, as vidstyle runs it."""
    import onnx

    model = onnx.load(str(path))
    inits = {i.name for i in model.graph.initializer}
    for node in model.graph.node:
        if node.op_type in ("QuantizeLinear", "DequantizeLinear") and node.input[0] not in inits:
            node.op_type = "Identity"
            del node.input[1:]
            del node.attribute[:]
    del model.graph.value_info[:]
    return model.SerializeToString()


def square(path, side: int) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB").resize((side, side), Image.BICUBIC)).copy()


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    return float(10 * np.log10(1 / np.mean((a.astype(np.float64) - b) ** 2)))


@needs_shared
def test_pytorch_network_is_the_onnx_graph():
    """On real photos and paintings at 384 px: against the same graph with float activations the PyTorch
    network agrees to > 40 dB (measured 47-49 dB; the rest is the fp16 storage of the weights). Against the
    int8 graph as released it is 25-28 dB: that graph quantises every activation to 8 bits, ours does not."""
    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    folder = SHARED / "arbitrary"
    graphs = {
        "float": [
            ort.InferenceSession(float_activations(folder / f))
            for f in ("arbitrary_predict.onnx", "arbitrary_transform.onnx")
        ],
        "int8": [ort.InferenceSession(str(folder / f)) for f in ("arbitrary_predict.onnx", "arbitrary_transform.onnx")],
    }
    net = arbitrary.load()
    for painting in PAINTINGS:
        style = square(SHARED / "styles" / painting, 256)
        with torch.no_grad():
            ours_embedding = net.predictor(torch.from_numpy(style)[None].permute(0, 3, 1, 2).float() / 255)
        for photo in PHOTOS:
            content = square(SHARED / photo, 384)
            x = torch.from_numpy(content)[None].permute(0, 3, 1, 2).float() / 255
            with torch.no_grad():
                ours = net.transfer(x, net.transfer.code(ours_embedding))[0].permute(1, 2, 0).numpy()
            for kind, (predict, transform) in graphs.items():
                embedding = predict.run(None, {"style_image": style[None].astype(np.float32) / 255})[0]
                theirs = transform.run(
                    None,
                    {
                        "content_image": content[None].astype(np.float32) / 255,
                        "mobilenet_conv/Conv/BiasAdd": embedding.reshape(1, 1, 1, 100),
                    },
                )[0][0]
                if kind == "float":
                    cosine = np.dot(embedding.ravel(), ours_embedding.numpy().ravel()) / (
                        np.linalg.norm(embedding) * np.linalg.norm(ours_embedding.numpy())
                    )
                    assert cosine > 0.999, (painting, cosine)
                    assert psnr(ours, theirs) > 40, (painting, photo, psnr(ours, theirs))
                else:
                    # the int8 release as onnxruntime runs it: its int8 kernels changed between releases
                    # (1.30: over 24 dB; 1.32: 19.9-21.8), so this asks only "the same painting's network":
                    # the other painting's int8 output is 12-13.5 dB from ours. The float graph is the exact check
                    assert psnr(ours, theirs) > 17, (painting, photo, psnr(ours, theirs))


@needs_shared
def test_converter_rebuilds_the_shipped_weights():
    pytest.importorskip("onnx")
    from vidstyle.models.convert_arbitrary import convert

    rebuilt = convert(SHARED / "arbitrary").state_dict()
    shipped = arbitrary.load().state_dict()
    assert rebuilt.keys() == shipped.keys()
    for key in shipped:  # shipped in fp16
        torch.testing.assert_close(shipped[key], rebuilt[key], rtol=1e-3, atol=1e-4, msg=key)


@pytest.mark.parametrize("height, width", [(30, 40), (7, 5), (1, 2)])
def test_upsampling_conv_on_the_small_frame_is_upsample_pad_conv(height, width):
    torch.manual_seed(0)
    for conv in arbitrary.load().transfer.float().expand[:2]:
        x = torch.randn(2, conv.in_channels, height, width)
        with torch.no_grad():
            reference = conv(F.interpolate(x, scale_factor=2, mode="nearest"))  # ReflectConv pads the big frame
            torch.testing.assert_close(arbitrary.upsample_conv(x, conv), reference, rtol=1e-5, atol=1e-5)


def magenta_layers(net: arbitrary.StyleTransfer, x: torch.Tensor, code: torch.Tensor) -> torch.Tensor:
    """The transfer network as Magenta's graph lays it out: every layer at its own size, upsampling by
    nearest neighbour, reflect padding in each conv (`ReflectConv`), no space-to-depth frames."""
    gammas, betas = code.split(arbitrary.CODE_SIZE // 2, dim=1)
    norms = iter(zip(gammas.split(arbitrary.NORM_CHANNELS, 1), betas.split(arbitrary.NORM_CHANNELS, 1)))

    def norm(h):
        gamma, beta = next(norms)
        return F.instance_norm(h, eps=arbitrary.EPS) * gamma[:, :, None, None] + beta[:, :, None, None]

    for conv in net.contract:
        x = F.relu(conv(x))
    for conv1, conv2 in net.residual:
        x = x + norm(conv2(F.relu(norm(conv1(x)))))
    for i, conv in enumerate(net.expand):
        x = norm(conv(F.interpolate(x, scale_factor=2, mode="nearest") if i < 2 else x))
        x = F.relu(x) if i < 2 else torch.sigmoid(x)
    return x


@pytest.mark.parametrize("height, width, codes", [(24, 32, 1), (36, 20, 2), (8, 12, 1)])
def test_the_network_on_space_to_depth_frames_is_magentas_layers(height, width, codes):
    """`StyleTransfer.forward` runs its full-size layers on the 2x2 space-to-depth frame, with its
    kernels and padding rearranged; the numbers must be those of the plain layers, with one code for the
    batch (the norm's affine) or one per frame."""
    torch.manual_seed(0)
    net = arbitrary.load().transfer.float()
    x = torch.rand(2, 3, height, width)
    code = net.code(torch.randn(codes, arbitrary.EMBEDDING))
    with torch.no_grad():
        torch.testing.assert_close(net(x, code), magenta_layers(net, x, code.expand(2, -1)), rtol=1e-5, atol=2e-5)


@pytest.mark.parametrize("height, width", [(8, 12), (20, 16), (6, 10)])
def test_reflect_padding_on_the_space_to_depth_frame_is_the_full_frames(height, width):
    x = torch.randn(2, 5, height, width)
    for blocks in (1, 2):
        full = F.pad(x, (2 * blocks,) * 4, mode="reflect")
        padded = arbitrary.s2d_reflect_pad(F.pixel_unshuffle(x, 2), blocks)
        assert torch.equal(padded, F.pixel_unshuffle(full, 2))


def test_frames_whose_sides_are_not_multiples_of_4_are_refused_by_the_network():
    net = arbitrary.load().transfer.float()
    code = net.code(torch.zeros(1, arbitrary.EMBEDDING))
    with pytest.raises(ValueError, match="multiples of 4"):
        net(torch.rand(1, 3, 30, 40), code)


def test_any_frame_size_is_painted_whole():
    net = arbitrary.load().transfer
    frame = scene(0.3, 161, 121)
    code = torch.from_numpy(painting_code(arbitrary.shipped(), scene(2.0, 96, 96)))[None]
    with torch.inference_mode():
        out = arbitrary.stylize(net, torch.from_numpy(frame)[None], code=code)[0].numpy()
        again = arbitrary.stylize(net, torch.from_numpy(frame)[None], code=code)[0].numpy()
    assert out.shape == frame.shape and np.array_equal(out, again)
    assert np.abs(out.astype(int) - frame).mean() > 10  # it painted
    assert out[:, -1].std() > 1 and out[-1].std() > 1  # the padded-and-cropped edges hold picture too


def _coarse_std(rgb: np.ndarray) -> float:
    """Spatial standard deviation after 4x4 means: strokes count, the network's 4-px grid pattern does not."""
    h, w = rgb.shape[0] // 4 * 4, rgb.shape[1] // 4 * 4
    coarse = rgb[:h, :w].astype(float).reshape(h // 4, 4, w // 4, 4, 3).mean(axis=(1, 3))
    return float(coarse.reshape(-1, 3).std(axis=0).mean())


@pytest.mark.parametrize("style", ["muse", "scream"])
def test_grain_paints_strokes_in_a_flat_frame_the_same_in_every_batch_and_worker(style):
    """Issue 29: a flat region entered the network as a constant and left as one (a wash with the network's
    4-px grid on it: coarse std 1-7 levels on flat frames for all six built-ins); the input grain is the seed
    it turns into the painting's strokes (34-58). The pattern is fixed: the same frame gets the same strokes
    wherever it sits in a batch and from a network loaded afresh (another worker), so a still region does
    not flicker and segments painted apart join without a seam."""
    code = torch.from_numpy(make_recipe(StyleChoice(style=style), list).code)[None]
    flat = np.full((120, 160, 3), 40, np.uint8)
    net = arbitrary.load().transfer
    with torch.inference_mode():
        plain = arbitrary.stylize(net, torch.from_numpy(flat)[None], code=code, grain=0)[0].numpy()
        grained = arbitrary.stylize(net, torch.from_numpy(flat)[None], code=code)[0].numpy()
        batch = torch.from_numpy(np.stack([scene(0.3, 160, 120), flat, scene(1.0, 160, 120)]))
        elsewhere = arbitrary.stylize(arbitrary.load().transfer, batch, code=code)[1].numpy()
    assert _coarse_std(plain) < 8 and _coarse_std(grained) > 25, (_coarse_std(plain), _coarse_std(grained))
    assert np.array_equal(grained, elsewhere)


def test_grain_is_tiled_over_large_frames_and_only_where_the_frame_is_flat():
    side = arbitrary.GRAIN_TILE
    flat = torch.full((1, 3, side + 8, 2 * side + 4), 0.3)
    out = arbitrary.add_grain(flat, arbitrary.grain_tile(), 0.5) - flat
    assert torch.equal(out[0, :, :8, :4], out[0, :, side:, side : side + 4])  # tiled
    assert 0.45 < float(out[0, 0].std()) < 0.55  # the whole grain
    textured = (0.3 + 0.1 * torch.randn(1, 1, 240, 320, generator=torch.Generator().manual_seed(0))).expand(
        1, 3, -1, -1
    )
    textured = textured.clone()
    textured[..., :, 160:] = 0.3  # its right half flat
    added = (arbitrary.add_grain(textured, arbitrary.grain_tile(), 0.5) - textured)[0, 0]
    weight = arbitrary.flatness(textured)[0, 0]
    assert float(added[:, 180:].std()) > 0.45  # the flat half (away from the border): all of it
    assert float(weight[:, :140].max()) == 0 and float(added[:, :140].abs().max()) == 0  # the textured half: none


def test_a_painting_is_read_sharp_and_blurred_and_a_frame_as_it_is():
    """The predictor's reading of a painting is the mean of it and of it blurred (`PAINTING_BLUR`), with
    OpenCV's Gaussian; a video frame's (strength's own code) is one plain reading."""
    import cv2

    x = torch.rand(2, 3, 64, 48, generator=torch.Generator().manual_seed(1))
    ours = arbitrary.gaussian_blur(x, 0.7).permute(0, 2, 3, 1).numpy()
    theirs = np.stack([cv2.GaussianBlur(im.permute(1, 2, 0).numpy(), (0, 0), 0.7) for im in x])
    assert np.abs(ours - theirs).max() < 1e-5
    net = arbitrary.shipped()
    paintings = torch.from_numpy(np.stack([scene(0.5, 256, 256), scene(1.5, 256, 256)]))  # square, 256: as read
    frame = torch.from_numpy(scene(0.5, 256, 192))[None]  # long side 256: as read
    with torch.no_grad():
        square = paintings.permute(0, 3, 1, 2).float() / 255
        sharp = net.predictor(square)
        blurred = net.predictor(arbitrary.gaussian_blur(square, arbitrary.PAINTING_BLUR))
        assert torch.allclose(net.embed(paintings), (sharp + blurred) / 2, atol=1e-4)
        plain = net.predictor(frame.permute(0, 3, 1, 2).float() / 255)
        assert torch.allclose(net.embed(frame, square=False), plain, atol=1e-4)
        assert not torch.allclose(net.embed(paintings), sharp, atol=1e-2)  # the blur is in it


def test_strength_moves_the_code_towards_the_contents_own(tmp_path):
    painting, frames = scene(2.0, 96, 96), [scene(0.1 * i, 120, 90) for i in range(3)]
    Image.fromarray(painting).save(tmp_path / "painting.png")
    net = arbitrary.shipped()
    full = make_recipe(StyleChoice(style_image=tmp_path / "painting.png", strength=1.0), lambda: frames)
    none = make_recipe(StyleChoice(style_image=tmp_path / "painting.png", strength=0.0), lambda: frames)
    half = make_recipe(StyleChoice(style_image=tmp_path / "painting.png", strength=0.5), lambda: frames)
    np.testing.assert_allclose(full.code, painting_code(net, painting), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(none.code, content_code(net, frames), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(half.code, (full.code + none.code) / 2, rtol=1e-5, atol=1e-5)


def test_blend_is_the_weighted_mean_of_codes(tmp_path):
    a, b = tmp_path / "a.png", tmp_path / "b.png"
    Image.fromarray(scene(2.0, 96, 96)).save(a)
    Image.fromarray(scene(5.0, 96, 96)[:, ::-1].copy()).save(b)
    mixed = make_recipe(StyleChoice(blend=f"{a}=3,{b}=1"), lambda: [])
    net = arbitrary.shipped()
    expected = 0.75 * painting_code(net, np.asarray(Image.open(a))) + 0.25 * painting_code(
        net, np.asarray(Image.open(b))
    )
    np.testing.assert_allclose(mixed.code, expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("a=1,b", "NAME=WEIGHT"),
        ("a=x", "not a number"),
        ("a=-1,b=2", "negative"),
        ("a=0,b=0", "positive"),
        ("a=nan", "not a number"),  # was called "negative"
        (" a = nan ", "not a number"),
        ("a=inf", "not a number"),  # painted black
        ("a=Infinity", "not a number"),
        ("a=-inf", "not a number"),
        ("a=0x10", "not a number"),
        ("a=1_000", "not a number"),
        ("a=\u0661", "not a number"),  # an Arabic-Indic one, which float() reads
        ("a=1e309,b=1", "infinite or too large"),  # painted black
        ("a=1e400", "infinite or too large"),
    ],
)
def test_bad_blends_are_refused(text, fragment):
    with pytest.raises(VidstyleError, match=fragment):
        parse_blend(text)


def test_weights_whose_sum_overflows_mix_as_their_shares(tmp_path):
    """'muse=1e308,wave=1e308' summed to infinity and painted every pixel 128."""
    huge, even = (make_recipe(StyleChoice(blend=b), lambda: []) for b in ("muse=1e308,wave=1e308", "muse=1,wave=1"))
    np.testing.assert_allclose(huge.code, even.code, rtol=1e-6)
    tiny = make_recipe(StyleChoice(blend="muse=5e-324"), lambda: [])
    np.testing.assert_allclose(tiny.code, make_recipe(StyleChoice("muse"), lambda: []).code, rtol=1e-6)


@pytest.mark.parametrize("blend", ["muse=inf", "muse=1e309,wave=1", "muse=1e308,wave=nan"])
def test_a_non_finite_blend_writes_nothing_through_the_cli_or_the_library(blend, tmp_path):
    """The CLI painted a black image and the library's render_video wrote a black video, both exit 0."""
    from vidstyle import render_video

    from .helpers import one_line_error, vidstyle_here

    Image.fromarray(scene(1.0, 64, 48)).save(tmp_path / "photo.png")
    one_line_error(
        vidstyle_here("image", tmp_path / "photo.png", "--blend", blend, "-o", tmp_path / "o.png"), "--blend"
    )
    with pytest.raises(VidstyleError, match="--blend"):
        render_video(tmp_path / "clip.mp4", tmp_path / "o.mp4", StyleChoice(blend=blend))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["photo.png"]


def test_preserve_color_keeps_the_source_chroma_for_every_kind(tiny_style, tmp_path):
    Image.fromarray(scene(2.0, 96, 96)).save(tmp_path / "p.png")
    photo = scene(0.4, 160, 120)
    for choice in (StyleChoice(style_image=tmp_path / "p.png"), StyleChoice(style=str(tiny_style.path))):
        plain = stylize_still(make_recipe(choice, lambda: [photo]), photo, torch.device("cpu"))
        choice.preserve_color = True
        kept = stylize_still(make_recipe(choice, lambda: [photo]), photo, torch.device("cpu"))

        def chroma(rgb):
            return np.asarray(Image.fromarray(rgb).convert("YCbCr"), np.float64)[..., 1:]

        assert np.abs(chroma(kept) - chroma(photo)).mean() < 0.3 * np.abs(chroma(plain) - chroma(photo)).mean()


def test_render_with_any_painting_keeps_every_frame_and_the_audio(tmp_path):
    clip = make_clip(tmp_path / "in.mp4", ClipSpec(seconds=1.0, width=160, height=120))
    Image.fromarray(scene(2.0, 128, 128)).save(tmp_path / "painting.png")
    out = tmp_path / "out.mp4"
    result = vidstyle(
        "render", clip, "--style-image", tmp_path / "painting.png", "-o", out, "--no-ray", "--strength", "0.8"
    )
    assert result.returncode == 0, result.stderr
    assert "25/25 frames" in result.stdout
    assert frame_times(out) == frame_times(clip) and audio_packets(out) == audio_packets(clip)
    painted, source = frames_rgb(out), frames_rgb(clip)
    assert np.mean([np.abs(a.astype(int) - b).mean() for a, b in zip(painted, source)]) > 10
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["--strength", "1.5"], "between 0 and 1"),
        (["--blend", "nosuchstyle=1"], "unknown style"),
        (["--blend", "x=0"], "positive"),
    ],
)
def test_bad_style_choices_are_one_line_and_write_nothing(tmp_path, args, fragment):
    clip = make_clip(tmp_path / "in.mp4", ClipSpec(seconds=0.4, width=64, height=48))
    Image.fromarray(scene(2.0, 64, 64)).save(tmp_path / "painting.png")
    if args[0] == "--strength":
        args = ["--style-image", tmp_path / "painting.png", *args]
    one_line_error(vidstyle_here("render", clip, *args, "-o", tmp_path / "out.mp4", "--no-ray"), fragment)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.mp4", "painting.png"]


@pytest.mark.parametrize("painting, fragment", [(b"not an image", "painting.png"), (None, "at least 32")])
def test_unreadable_or_tiny_paintings_are_refused(tmp_path, painting, fragment):
    path = tmp_path / "painting.png"
    if painting is None:
        Image.fromarray(scene(1.0, 16, 12)).save(path)
    else:
        path.write_bytes(painting)
    Image.fromarray(scene(0.2, 96, 64)).save(tmp_path / "photo.png")
    one_line_error(
        vidstyle_here("image", tmp_path / "photo.png", "--style-image", path, "-o", tmp_path / "o.png"), fragment
    )
    assert not (tmp_path / "o.png").exists()


def test_image_with_a_trained_style(tiny_style, tmp_path):
    Image.fromarray(scene(0.2, 96, 64)).save(tmp_path / "photo.png")
    result = vidstyle("image", tmp_path / "photo.png", "--style", tiny_style.path, "-o", tmp_path / "o.png")
    assert result.returncode == 0, result.stderr
    out = np.asarray(Image.open(tmp_path / "o.png"))
    assert out.shape == (64, 96, 3) and np.abs(out.astype(int) - scene(0.2, 96, 64)).mean() > 5


def test_code_recipe_travels_as_its_code_and_builds_the_same_filter():
    """A recipe travels to Ray workers by pickling: the code (and its label), not the network's 5 MB."""
    import pickle

    code = painting_code(arbitrary.shipped(), scene(2.0, 96, 96))
    recipe = CodeRecipe.of(code, "p")
    blob = pickle.dumps(recipe)
    assert len(blob) < 20_000
    frame = scene(0.3, 64, 48)
    here = next(recipe.build(torch.device("cpu"))(iter([(0, 0, frame)])))[2]
    there = next(pickle.loads(blob).build(torch.device("cpu"))(iter([(0, 0, frame)])))[2]
    assert np.array_equal(here, there) and np.abs(here.astype(int) - frame).mean() > 10


def test_a_paintings_code_paints_at_its_working_size_and_built_ins_at_full_size(tmp_path, monkeypatch):
    """Paintings (and blends with one) paint at `PAINTING_SIDE` unless --max-side says otherwise; tuned
    built-ins at the frame's size. Measured on a small frame with the side made small."""

    monkeypatch.setattr(arbitrary, "PAINTING_SIDE", 48)
    Image.fromarray(scene(2.0, 96, 96)).save(tmp_path / "p.png")
    frame, cpu = scene(0.3, 96, 64), torch.device("cpu")
    painting = make_recipe(StyleChoice(style_image=tmp_path / "p.png"), content=list)
    blend = make_recipe(StyleChoice(blend=f"muse=1,{tmp_path / 'p.png'}=1"), content=list)
    builtins = make_recipe(StyleChoice(blend="muse=1,wave=1"), content=list)
    muse = make_recipe(StyleChoice(style="muse"), content=list)
    assert (painting.side, blend.side, builtins.side, muse.side) == (48, 48, None, None)
    default = stylize_still(painting, frame, cpu)
    assert np.array_equal(default, stylize_still(painting, frame, cpu, max_side=48))
    full = stylize_still(painting, frame, cpu, max_side=96)
    assert default.shape == full.shape == frame.shape and np.abs(default.astype(int) - full).mean() > 3
    # `vidstyle image --max-side` chooses it too (the CLI runs in its own process: the real 480 px default)
    Image.fromarray(frame).save(tmp_path / "photo.png")
    for side in (32, 96):
        done = vidstyle(
            "image",
            tmp_path / "photo.png",
            "--style-image",
            tmp_path / "p.png",
            "--max-side",
            side,
            "-o",
            tmp_path / f"o{side}.png",
        )
        assert done.returncode == 0, done.stderr
    small, whole = (np.asarray(Image.open(tmp_path / f"o{side}.png"), int) for side in (32, 96))
    assert small.shape == whole.shape == frame.shape and np.abs(small - whole).mean() > 3


@pytest.mark.parametrize("height, width", [(50, 70), (480, 640), (721, 1279)])
def test_the_networks_cost_from_its_shapes_is_what_a_forward_pass_counts(height, width):
    from torch.utils.flop_counter import FlopCounterMode

    with torch.device("meta"):
        net = arbitrary.StyleTransfer()
        frame, code = torch.empty(1, height, width, 3, dtype=torch.uint8), torch.empty(1, arbitrary.CODE_SIZE)
    counter = FlopCounterMode(display=False)
    with counter, torch.inference_mode():
        arbitrary.stylize(net, frame, code=code)
    # its convolutions; the einsums that lay out their kernels each call are a fixed 0.3 MFLOP, not per pixel
    convolutions = sum(n for op, n in counter.get_flop_counts()["Global"].items() if "convolution" in str(op))
    assert convolutions > 0.99 * counter.get_total_flops()
    assert arbitrary.gflop_per_frame(height, width) == pytest.approx(convolutions / 1e9)
