import numpy as np
import pytest
import torch
from PIL import Image

from vidstyle.errors import VidstyleError
from vidstyle.models.styles import (
    StyleInfo,
    import_deeplearnjs,
    installed_styles,
    load_network,
    read_info,
    resolve_style,
    save_style,
    user_dir,
)
from vidstyle.models.transformer import TransformerNet, stylize

from .helpers import SHARED, needs_shared, tiny_network, vidstyle_here
from .tf_reference import load_variables, network


def test_save_load_roundtrip_keeps_weights_and_metadata(tmp_path):
    net = tiny_network(3)
    info = StyleInfo(name="t", painting="P", artist="A", licence="MIT", trained="cmd", base=4, residual_blocks=1)
    save_style(info, net, tmp_path / "t.vstyle")
    back = read_info(tmp_path / "t.vstyle")
    assert (back.name, back.painting, back.artist, back.licence, back.trained) == ("t", "P", "A", "MIT", "cmd")
    loaded = load_network(back)
    for k, v in net.state_dict().items():
        assert torch.equal(loaded.state_dict()[k], v)


class Boom:
    def __reduce__(self):
        return (print, ("this must never run",))


def test_a_style_file_that_wants_to_run_code_is_refused(tmp_path, capsys):
    path = tmp_path / "evil.vstyle"
    torch.save({"format": "vidstyle-style/1", "meta": Boom()}, path)  # a real checkpoint with a payload
    with pytest.raises(VidstyleError, match="not a readable vidstyle style file"):
        read_info(path)
    assert "must never run" not in capsys.readouterr().out


def test_registry_finds_user_styles_and_names_known_ones_on_a_miss():
    save_style(StyleInfo(name="mine", base=4, residual_blocks=1), tiny_network(), user_dir() / "mine.vstyle")
    assert "mine" in installed_styles()
    assert resolve_style("mine").path == user_dir() / "mine.vstyle"
    with pytest.raises(VidstyleError, match=r"unknown style 'nope'; known styles: .*mine"):
        resolve_style("nope")


def test_user_styles_live_in_the_data_folder_and_the_old_cache_folder_is_still_read(tmp_path, monkeypatch):
    monkeypatch.delenv("VIDSTYLE_HOME")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert user_dir() == tmp_path / "data" / "vidstyle" / "styles"
    old = tmp_path / "cache" / "vidstyle" / "styles" / "old.vstyle"
    old.parent.mkdir(parents=True)
    save_style(StyleInfo(name="old", base=4, residual_blocks=1), tiny_network(), old)
    new = save_style(StyleInfo(name="new", base=4, residual_blocks=1), tiny_network(), user_dir() / "new.vstyle")
    found = installed_styles()
    assert found["old"].path == old and found["new"].path == new
    assert resolve_style("old").path == old
    # a style of the same name in the data folder wins over the old place
    save_style(
        StyleInfo(name="old", painting="newer", base=4, residual_blocks=1), tiny_network(), user_dir() / "old.vstyle"
    )
    assert installed_styles()["old"].painting == "newer"


def test_import_rejects_a_folder_without_manifest(tmp_path):
    with pytest.raises(VidstyleError, match="no manifest.json"):
        import_deeplearnjs(tmp_path, StyleInfo(name="x"))


@pytest.mark.parametrize(
    "manifest,fragment",
    [
        ('{"Variable": {"filename": "v0", "shape": [9, 9, 3', "manifest.json is not JSON (Expecting"),
        ("[1, 2]", "is not a deeplearn.js manifest"),
        ('{"Variable": {"shape": [1]}}', "Variable needs a 'filename' and a 'shape'"),
        ('{"Variable": {"filename": "gone", "shape": [1]}}', "cannot read"),
    ],
)
def test_styles_import_of_a_malformed_manifest_is_one_line(manifest, fragment, tmp_path):
    """A manifest.json that was not JSON was a JSONDecodeError traceback."""
    from .helpers import one_line_error

    (tmp_path / "export").mkdir()
    (tmp_path / "export" / "manifest.json").write_text(manifest)
    result = vidstyle_here("styles", "import", tmp_path / "export", "--name", "x", "-o", tmp_path / "x.vstyle")
    one_line_error(result, fragment)
    assert not (tmp_path / "x.vstyle").exists()


@needs_shared
def test_imported_reference_network_matches_tensorflow_semantics():
    """The PyTorch network, fed the imported weights, equals an independent NumPy implementation of
    TensorFlow's SAME convolutions, transposed convolutions and instance norm on a real photo crop."""
    folder = SHARED / "reference-styles" / "la_muse"
    photo = np.asarray(Image.open(SHARED / "photos" / "chicago.jpg").convert("RGB"))[100:164, 200:296]
    expected = network(photo, load_variables(folder))
    net = import_deeplearnjs(folder, StyleInfo(name="x"))
    with torch.no_grad():
        got = net(torch.from_numpy(photo.copy()).permute(2, 0, 1)[None].float())[0].permute(1, 2, 0).clamp(0, 255)
    assert np.abs(got.numpy() - expected).max() < 0.01
    assert expected.std() > 30  # a real picture, not a flat field that any network would match


@needs_shared
def test_imported_reference_style_paints_a_real_photo(tmp_path):
    """La Muse on chicago.jpg: the output keeps the photo's layout but not its colours."""
    info = StyleInfo(name="muse")
    net = import_deeplearnjs(SHARED / "reference-styles" / "la_muse", info)
    save_style(info, net, tmp_path / "muse.vstyle")
    net = load_network(read_info(tmp_path / "muse.vstyle"))
    image = Image.open(SHARED / "photos" / "chicago.jpg").convert("RGB")
    image = image.resize((256, round(256 * image.height / image.width)))
    photo = torch.from_numpy(np.asarray(image).copy())[None]
    with torch.inference_mode():
        out = stylize(net, photo)[0].numpy().astype(np.float64)
    src = photo[0].numpy().astype(np.float64)
    layout = np.corrcoef(src.mean(-1).ravel(), out.mean(-1).ravel())[0, 1]
    assert 0.3 < layout < 0.95  # related to the photo, far from a copy of it
    assert np.abs(out - src).mean() > 25
    assert out.std() > 40  # strong strokes, not a grey wash
    # La Muse's palette is warm yellow and teal: the stylised sky is no longer the photo's blue
    sky_in, sky_out = src[:40].mean((0, 1)), out[:40].mean((0, 1))
    assert sky_in[2] > sky_in[0] and not np.allclose(sky_in, sky_out, atol=15)


def export_of(net: TransformerNet, folder):
    """`net` as a deeplearn.js export (manifest.json and raw float32 variables), as `styles import` reads one."""
    import json

    from vidstyle.models.styles import _tf_layers

    folder.mkdir()
    manifest = {}
    for n, layer in enumerate(_tf_layers(net)):
        tensors = (layer.conv.weight.permute(2, 3, 1, 0), layer.norm.bias, layer.norm.weight)
        for j, tensor in enumerate(tensors):
            key = "Variable" if 3 * n + j == 0 else f"Variable_{3 * n + j}"
            tensor.detach().numpy().astype("<f4").tofile(folder / key)
            manifest[key] = {"filename": key, "shape": list(tensor.shape)}
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return folder


@pytest.fixture
def export(tmp_path):
    return export_of(TransformerNet(base=4, residual_blocks=5), tmp_path / "export")


def test_a_synthetic_export_imports(export, tmp_path):
    result = vidstyle_here("styles", "import", export, "--name", "mine")
    assert result.returncode == 0, result.stderr
    assert (user_dir() / "mine.vstyle").is_file()


@pytest.mark.parametrize("name", ["../../x", "a/b", "", ".hidden", "a\\b", "tab\there", " padded"])
def test_a_style_name_is_one_plain_path_component(name, export, tmp_path):
    """`--name ../../x` wrote x.vstyle two folders up, `a/b` a subfolder, `""` a hidden `.vstyle`."""
    from .helpers import one_line_error

    user_dir().mkdir(parents=True)
    before = {p for p in user_dir().parent.parent.rglob("*")}
    one_line_error(vidstyle_here("styles", "import", export, "--name", name), "--name")
    assert {p for p in user_dir().parent.parent.rglob("*")} == before


def test_nan_in_an_imported_weight_file_is_refused_and_nothing_installed(export):
    """Weight files holding NaN installed a style that painted every pixel black."""
    from .helpers import one_line_error

    data = np.fromfile(export / "Variable_4", "<f4")
    data[0] = np.nan
    data.tofile(export / "Variable_4")
    one_line_error(vidstyle_here("styles", "import", export, "--name", "nan"), "Variable_4 holds NaN")
    assert not (user_dir() / "nan.vstyle").exists()


def test_a_style_with_non_finite_weights_is_never_written_and_never_read(tmp_path):
    net = tiny_network()
    with torch.no_grad():
        net.conv1.norm.bias[0] = float("inf")
    with pytest.raises(VidstyleError, match="conv1.norm.bias holds NaN or infinite"):
        save_style(StyleInfo(name="bad", base=4, residual_blocks=1), net, tmp_path / "bad.vstyle")
    assert list(tmp_path.iterdir()) == []
    big = tiny_network()  # finite in float32, infinite in the fp16 a trained style is saved in
    with torch.no_grad():
        big.conv1.norm.weight[0] = 1e6
    with pytest.raises(VidstyleError, match="holds NaN or infinite"):
        save_style(StyleInfo(name="big", base=4, residual_blocks=1), big, tmp_path / "big.vstyle", half=True)
    # a file someone else wrote: refused when read
    state = {k: v.clone() for k, v in tiny_network().state_dict().items()}
    state["conv1.norm.bias"][0] = float("nan")
    meta = {"name": "planted", "base": 4, "residual_blocks": 1}
    torch.save({"format": "vidstyle-style/1", "meta": meta, "state_dict": state}, tmp_path / "planted.vstyle")
    with pytest.raises(VidstyleError, match="holds NaN or infinite"):
        load_network(read_info(tmp_path / "planted.vstyle"))
    from vidstyle.models.arbitrary import CODE_SIZE
    from vidstyle.models.styles import load_code, save_code_style

    code = np.full(CODE_SIZE, np.nan, np.float32)
    with pytest.raises(VidstyleError, match="holds NaN or infinite"):
        save_code_style(StyleInfo(name="c"), code, tmp_path / "c.vstyle")
    assert not (tmp_path / "c.vstyle").exists()
    meta = {"name": "c", "kind": "code"}
    torch.save(
        {"format": "vidstyle-style/1", "meta": meta, "state_dict": {"code": torch.tensor(code)}}, tmp_path / "c.vstyle"
    )
    with pytest.raises(VidstyleError, match="holds NaN or infinite"):
        load_code(read_info(tmp_path / "c.vstyle"))


@pytest.mark.parametrize("meta", [[1], {"name": "x", "bogus": 1}, {"name": "x", "base": "4"}, {"painting": "p"}])
def test_a_style_file_with_damaged_metadata_is_one_line(meta, tmp_path):
    """Unknown keys or a list as metadata were StyleInfo's TypeError traceback."""
    torch.save({"format": "vidstyle-style/1", "meta": meta, "state_dict": {}}, tmp_path / "x.vstyle")
    with pytest.raises(VidstyleError, match="metadata is damaged"):
        read_info(tmp_path / "x.vstyle")


@pytest.mark.parametrize("shape", [[-1, -7776], [], [0], [9, 9, 3, 0]])
def test_a_manifest_shape_that_is_negative_empty_or_zero_is_one_line(shape, export, tmp_path):
    """Each was a traceback (reshape's ValueError, an IndexError, torch's RuntimeError)."""
    import json

    from .helpers import one_line_error

    manifest = json.loads((export / "manifest.json").read_text())
    manifest["Variable"]["shape"] = shape
    (export / "manifest.json").write_text(json.dumps(manifest))
    np.zeros(abs(int(np.prod(shape))), "<f4").tofile(export / "Variable")
    result = vidstyle_here("styles", "import", export, "--name", "x", "-o", tmp_path / "x.vstyle")
    one_line_error(result, f"Variable has shape {shape}")
    assert not (tmp_path / "x.vstyle").exists()


def test_styles_import_refuses_a_fifo_instead_of_waiting_on_it(export, tmp_path):
    """A FIFO in place of a weight file made `styles import` wait forever."""
    import os
    import subprocess
    import sys

    (export / "Variable_3").unlink()
    os.mkfifo(export / "Variable_3")
    result = subprocess.run(
        [sys.executable, "-m", "vidstyle", "styles", "import", export, "--name", "f", "-o", tmp_path / "f.vstyle"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    from .helpers import one_line_error

    one_line_error(result, "Variable_3 is not a regular file")
    assert not (tmp_path / "f.vstyle").exists()
