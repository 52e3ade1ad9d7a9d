"""Ray Train: two workers averaging gradients train the very network one process trains, and their
checkpoints resume anywhere."""

import pytest
import torch

from vidstyle.media.images import list_photos
from vidstyle.models.transformer import TransformerNet
from vidstyle.models.vgg import load_vgg
from vidstyle.nst.losses import JOHNSON
from vidstyle.train.distributed import train_on_ray
from vidstyle.train.network import TrainOptions, checkpoint_path, read_checkpoint, train

from .helpers import STRIPES, random_vgg_state
from .helpers import TRAIN_OPTIONS as OPTIONS


def assert_trained_alike(a: dict, b: dict, untrained: dict) -> None:
    """Every tensor of `a` lies within a thousandth of how far training moved it from `b`.

    Not bit for bit: DDP sums two half-batch gradients computed on one thread each, one process the whole
    batch on two threads, and float sums in another order differ in the last bits (measured: at most 1.6e-4
    of the distance moved, on a CPU with AVX-512); Adam's normalised steps carry that into the weights. A
    worker that trained on the wrong crops lands a whole step away, at a ratio near 1.
    """
    for key in a:
        moved = (b[key] - untrained[key]).norm()
        assert (a[key] - b[key]).norm() <= 1e-3 * moved + 1e-7, key


@pytest.mark.slow
def test_two_ray_workers_train_the_single_process_network_and_resume(photos, tmp_path, embedded_ray):
    state = random_vgg_state(upto="relu4_3")
    train_photos = list_photos(photos, ["test_*"])
    options = TrainOptions(steps=3, **{**OPTIONS, "checkpoint_every": 3})
    distributed, where = train_on_ray(
        state,
        STRIPES,
        train_photos,
        tmp_path / "r.vstyle",
        options,
        workers=2,
        device="cpu",
        address=None,
        resume=False,
    )
    assert where == "2 cpu workers"
    single = train(
        load_vgg(JOHNSON.all, state), STRIPES, train_photos, tmp_path / "s.vstyle", options, torch.device("cpu")
    )
    torch.manual_seed(options.seed)
    untrained = TransformerNet(options.base, options.residual_blocks).state_dict()
    assert_trained_alike(distributed.state_dict(), single.state_dict(), untrained)
    assert max((a - c).abs().max().item() for a, c in zip(single.state_dict().values(), untrained.values())) > 1e-3

    # Ray Train's checkpoint is the single-process format: go on here for two more steps.
    assert read_checkpoint(checkpoint_path(tmp_path / "r.vstyle"))["step"] == 3
    resumed = train(
        load_vgg(JOHNSON.all, state),
        STRIPES,
        train_photos,
        tmp_path / "r.vstyle",
        TrainOptions(steps=5, **OPTIONS),
        torch.device("cpu"),
        resume=True,
    )
    straight = train(
        load_vgg(JOHNSON.all, state),
        STRIPES,
        train_photos,
        tmp_path / "t.vstyle",
        TrainOptions(steps=5, **OPTIONS),
        torch.device("cpu"),
    )
    assert_trained_alike(resumed.state_dict(), straight.state_dict(), untrained)
