"""`vidstyle train --workers N`: the same training loop on several processes, GPUs or nodes, with Ray Train.

Ray Train's TorchTrainer starts the workers and DistributedDataParallel averages their gradients; each worker
takes its turn of every step's crops (drawn from a generator seeded by the step), so N workers with batch B
train exactly the network one process with batch B trains. Checkpoints are the single-process format: a run
started on a cluster can be resumed on a laptop and the other way round. Rank 0 reports them to Ray Train,
which keeps the latest in OUTPUT.ray/ (on a multi-node cluster put OUTPUT on storage every node shares).
Needs `pip install "vidstyle[train]"` (Ray Train's own dependencies).
"""

from __future__ import annotations

import tempfile
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch

from vidstyle.cluster import connect, pool_shape
from vidstyle.errors import VidstyleError
from vidstyle.models.transformer import TransformerNet
from vidstyle.train.network import (
    TrainOptions,
    Worker,
    check_resumable,
    check_split,
    checkpoint_path,
    read_checkpoint,
    save_checkpoint,
    train,
)

CHECKPOINT_FILE = "checkpoint.pt"


def _worker_loop(config: dict) -> None:
    """Runs in every Ray Train worker."""
    import ray.train
    import ray.train.torch

    from vidstyle.models.vgg import load_vgg
    from vidstyle.nst.losses import JOHNSON

    context = ray.train.get_context()
    worker = Worker(context.get_world_rank(), context.get_world_size())
    torch.set_num_threads(config["threads"])
    options = TrainOptions(**config["options"])
    last: dict[str, object] = {}

    def save(state: dict) -> None:
        if not state:  # other ranks: Ray Train wants every worker to report
            ray.train.report(dict(last))
            return
        with tempfile.TemporaryDirectory() as folder:
            torch.save(state, Path(folder) / CHECKPOINT_FILE)
            ray.train.report(dict(last), checkpoint=ray.train.Checkpoint.from_directory(folder))

    def on_step(terms) -> None:
        last.update(step=terms.step, content=terms.content, style=terms.style, tv=terms.tv)
        if worker.leads and (terms.step % options.checkpoint_every == 0 or terms.step == options.steps):
            print(
                f"step {terms.step:>6}: content {terms.content:.3f} style {terms.style:.3f} tv {terms.tv:.3f}  "
                f"total {terms.total:.3f}  ({worker.count} workers)",
                flush=True,
            )

    train(
        load_vgg(JOHNSON.all, config["vgg_state"]),
        config["painting"],
        [Path(p) for p in config["photos"]],
        Path(config["output"]),
        options,
        ray.train.torch.get_device(),
        resume=config["resume"] or False,
        on_step=on_step,
        worker=worker,
        wrap=ray.train.torch.prepare_model,
        save=save,
        init=config["init"],
    )


def train_on_ray(
    vgg_state: dict,
    painting: np.ndarray,
    photos: list[Path],
    output: Path,
    options: TrainOptions,
    workers: int,
    device: str,
    address: str | None,
    resume: bool,
    init: dict | None = None,
) -> tuple[TransformerNet, str]:
    """Train with `workers` Ray Train workers; returns the network and where it ran ("2 cpu workers")."""
    try:
        import ray
        from ray.train import CheckpointConfig, RunConfig, ScalingConfig
        from ray.train.torch import TorchTrainer
    except ImportError:
        raise VidstyleError('training on Ray needs Ray Train: pip install "vidstyle[train]".') from None
    check_split(options.batch_size, workers)
    state = read_checkpoint(checkpoint_path(output)) if resume else None
    if state:
        check_resumable(state, options, str(checkpoint_path(output)))
    started = connect(address)
    try:
        _, threads, gpus, where = pool_shape(workers, device)
        use_gpu = gpus > 0
        cpus = int(ray.cluster_resources().get("CPU", 1))
        if workers > cpus and not use_gpu:
            raise VidstyleError(
                f"the Ray cluster has {cpus} CPUs, too few for {workers} workers; use --workers {cpus}."
            )
        config = {
            "vgg_state": vgg_state,
            "painting": painting,
            "photos": [str(p.resolve()) for p in photos],
            "output": str(output.resolve()),
            "options": asdict(options),
            "resume": state,
            "threads": threads,
            "init": init,
        }
        trainer = TorchTrainer(
            _worker_loop,
            train_loop_config=config,
            scaling_config=ScalingConfig(num_workers=workers, use_gpu=use_gpu, resources_per_worker={"CPU": threads}),
            run_config=RunConfig(
                name=output.name + ".ray",
                storage_path=str(output.parent.resolve()),
                checkpoint_config=CheckpointConfig(num_to_keep=1),
            ),
        )
        result = trainer.fit()
        if result.error or result.checkpoint is None:
            raise VidstyleError(f"training on Ray failed: {result.error or 'no checkpoint was reported'}")
        with result.checkpoint.as_directory() as folder:
            final = read_checkpoint(Path(folder) / CHECKPOINT_FILE)
    finally:
        if started:
            ray.shutdown()
    save_checkpoint(checkpoint_path(output), final)
    net = TransformerNet(options.base, options.residual_blocks)
    net.load_state_dict(final["net"])
    return net.eval(), f"{workers} {where} workers"
