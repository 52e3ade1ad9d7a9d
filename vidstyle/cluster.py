"""Joining a Ray cluster, or starting Ray embedded: shared by rendering and training."""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
from collections.abc import Iterator
from pathlib import Path

import ray
import ray._private.ray_constants

from vidstyle import interrupts
from vidstyle.errors import VidstyleError

#: How long a cluster's address may take to accept a TCP connection before it counts as not answering.
#: Ray's own client waits for ever (a `Failed to connect to GCS` warning every few seconds).
REACH_SECONDS = 10.0
#: The port `ray://HOST` means without one (Ray Client's default).
CLIENT_PORT = 10001


def connect(address: str | None) -> bool:
    """Join the cluster at `address`, else start a Ray of our own, embedded. True if we started it. The
    caller has resolved RAY_ADDRESS already (`ShardOptions.resolved`), once per job.

    No address means our own Ray (`address="local"`), never a cluster someone else left: a bare `ray.init()`
    joins whatever `ray_current_cluster` in Ray's temp folder names (the last `ray start` on this machine,
    alive or long dead). An address is first checked to answer (`reachable`), so a wrong one is one line
    within seconds instead of Ray's endless retries."""
    if ray.is_initialized():
        return False
    if address and address != "local":
        reachable(address)
        # Workers on other nodes import vidstyle from the driver's copy; torch and av must be installed there.
        with _started_or_stopped(), interrupts.library_handlers():
            ray.init(
                address=address,
                runtime_env={"py_modules": [str(Path(__file__).parent)]},
                logging_level=logging.WARNING,
            )
        return False
    # Embedded Ray starts quietly: no dashboard nobody asked for, and not the notice Ray logs on every start
    # of a local cluster that it turned token authentication on (it stays on: Ray's default is kept, only
    # its notice is not shown; a user's own RAY_AUTH_MODE still decides).
    notice = logging.getLogger("ray._private.authentication.authentication_token_setup")
    level = notice.level
    notice.setLevel(logging.ERROR)
    try:
        with _started_or_stopped(), interrupts.library_handlers():
            ray.init(address="local", include_dashboard=False, logging_level=logging.WARNING)
    finally:
        notice.setLevel(level)
    return True


@contextlib.contextmanager
def _started_or_stopped() -> Iterator[None]:
    """Around `ray.init`. Where the command owns Ctrl-C and SIGTERM (`interrupts`), the driver's core worker
    puts in no crash handler of its own: it took SIGTERM too, printed a C++ stack and aborted (status 134)
    when the signal came while Ray was starting. A `ray.init` that did not finish (Ctrl-C or SIGTERM half
    way, a cluster that refused us) leaves nothing running: what it had started (an embedded Ray's GCS,
    raylet, and the raylet's agents, which outlived the command by a minute) is stopped now."""
    constants = ray._private.ray_constants
    before = _descendants()
    crash_handler = getattr(constants, "RAY_DISABLE_FAILURE_SIGNAL_HANDLER", None)
    if crash_handler is not None and interrupts.owned():
        constants.RAY_DISABLE_FAILURE_SIGNAL_HANDLER = True
    try:
        yield
    except BaseException:
        started = [pid for pid in _descendants() if pid not in before]  # before shutdown reparents them
        with contextlib.suppress(Exception):
            ray.shutdown()
        for pid in started:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        raise
    finally:
        if crash_handler is not None:
            constants.RAY_DISABLE_FAILURE_SIGNAL_HANDLER = crash_handler


def _descendants() -> set[int]:
    """The processes below this one (Linux's /proc; elsewhere none are known)."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = entry.read_text().rpartition(")")[2].split()
        except OSError:
            continue
        parents.setdefault(int(fields[1]), []).append(int(entry.parent.name))
    found: set[int] = set()
    todo = [os.getpid()]
    while todo:
        for child in parents.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def endpoint(address: str) -> tuple[str, int]:
    """(host, port) that must answer for `address`: HOST:PORT (a cluster's GCS), ray://HOST[:PORT] (Ray
    Client), or auto (the cluster `ray start` last started on this machine, as Ray finds it)."""
    text = address.strip()
    if text == "auto":
        from ray._private.services import canonicalize_bootstrap_address

        try:
            found = canonicalize_bootstrap_address("auto")
        except ConnectionError:
            found = None
        if not found:
            raise VidstyleError(
                "--address auto: no Ray cluster was started on this machine (`ray start --head`); give its "
                "address, or neither --address nor RAY_ADDRESS to run Ray here."
            )
        text = found
    scheme, sep, rest = text.rpartition("://")
    if sep and scheme != "ray":
        raise VidstyleError(f"--address {address!r}: use HOST:PORT or ray://HOST:PORT.")
    rest = rest.rstrip("/")
    host, colon, port = rest.rpartition(":")
    if not colon and sep:
        host, port = rest, str(CLIENT_PORT)
    host = host.strip("[]")  # [::1]:6379
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise VidstyleError(
            f"--address {address!r} is not HOST:PORT (a Ray head's GCS, e.g. 10.0.0.5:6379), ray://HOST:PORT or auto."
        )
    return host, int(port)


def reachable(address: str, seconds: float = REACH_SECONDS) -> None:
    """A TCP connection to `address` opens within `seconds`, else one line naming the address."""
    host, port = endpoint(address)
    try:
        with socket.create_connection((host, port), timeout=seconds):
            return
    except socket.gaierror:
        why = f"unknown host {host}"
    except TimeoutError:
        why = f"no answer in {seconds:.0f} s"
    except OSError as exc:
        why = (exc.strerror or str(exc)).lower()
    raise VidstyleError(
        f"no Ray cluster answers at {address} ({why}); start one there (`ray start --head`), correct "
        "--address or RAY_ADDRESS, or give neither to run Ray on this machine."
    )


#: A render's actors on a GPU node: one per this many CPUs, sharing the node's GPUs. The network on a GPU
#: outruns one actor's CPU side (decode, colour conversion, x264 with its 4 threads, the stabiliser's
#: flow; bench/cpu_side.py: 0.19-0.29 CPU-seconds per 1080p frame on this project's machine) many times
#: over, so the GPU is kept busy by several actors, each decoding and encoding its own segments.
CPUS_PER_GPU_ACTOR = 4


def pool_shape(workers: int | None, device: str, share_gpus: bool = False) -> tuple[int, float, float, str]:
    """(workers, CPUs each, GPUs each, device) from what the cluster offers; see `shape`."""
    return shape(ray.cluster_resources(), workers, device, share_gpus)


def shape(
    resources: dict[str, float], workers: int | None, device: str, share_gpus: bool = False
) -> tuple[int, float, float, str]:
    """Without GPUs, the CPUs split between the workers (one per 2 CPUs by default). With GPUs, one GPU per
    worker (training: one model replica per GPU), or, with `share_gpus` (rendering), CPUS_PER_GPU_ACTOR
    CPUs per worker by default with each GPU shared by as many workers as that gives it, so that enough
    encoders run beside each GPU. Shares are 1/k of a GPU so that Ray packs exactly k workers on each."""
    gpus, cpus = int(resources.get("GPU", 0)), int(resources.get("CPU", 1))
    use_gpu = gpus > 0 and device in ("auto", "cuda")
    if device == "cuda" and not gpus:
        raise VidstyleError("--device cuda asked for, but the Ray cluster has no GPU; use --device cpu or auto.")
    if use_gpu and share_gpus:
        n = workers or gpus * max(1, cpus // gpus // CPUS_PER_GPU_ACTOR)
        per_gpu = -(-n // gpus)
        return n, max(1, cpus // n), 1 / per_gpu, "cuda"
    if use_gpu:
        n = workers or gpus
        return n, max(1, cpus // n), 1, "cuda"
    n = workers or max(1, cpus // 2)
    return n, max(1, cpus // n), 0, "cpu"


def free_port() -> int:
    return free_ports(1)[0]


def free_ports(n: int) -> list[int]:
    """`n` different ports that nothing listens on now (each held until all are picked, so that the kernel
    cannot hand out one twice)."""
    with contextlib.ExitStack() as stack:
        held = [stack.enter_context(socket.socket()) for _ in range(n)]
        for s in held:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in held]


@contextlib.contextmanager
def local_cluster(node_cpus: list[int], temp: Path) -> Iterator[tuple[object, list, str]]:
    """A Ray cluster of several nodes on this machine (`ray.cluster_utils.Cluster`), for the multi-node test
    and bench/batch_scale.py: a head with no CPUs (it hosts the driver, as a real head does) and one worker
    node per entry of `node_cpus`. No port of Ray's fixed defaults is bound: the GCS (6379), the dashboard
    (8265, not started) and each node's dashboard agent (52365) get free-picked ports, Ray Client (10001)
    is not started (it needs ray[client]; Ray's `Cluster` starts it only when given a port), and the rest
    (the agent's gRPC, metrics export, runtime-env agent, object and node managers, workers) are picked by
    Ray itself, as port 0. Every node is on this machine's own address (Ray turns a driver's 127.0.0.1 into
    it, so nodes bound to loopback alone are never reached), everything under `temp` (RAY_TMPDIR points
    there meanwhile, so the cluster-address file the head writes is not /tmp/ray's, which other Ray users
    read); `temp` is the caller's, to remove. Yields (cluster, worker nodes, address). On the way out it stops
    exactly these nodes and removes that address file, whatever happened."""
    saved = os.environ.get("RAY_TMPDIR")
    os.environ["RAY_TMPDIR"] = str(temp)
    (temp / "ray").mkdir(parents=True, exist_ok=True)
    from ray.cluster_utils import Cluster

    cluster = Cluster()
    try:
        gcs, dashboard, agent = free_ports(3)  # the head's; a worker node's just before it starts
        cluster.add_node(
            num_cpus=0,
            gcs_server_port=gcs,
            include_dashboard=False,
            dashboard_port=dashboard,
            dashboard_agent_listen_port=agent,
            temp_dir=str(temp),
        )
        nodes = [cluster.add_node(num_cpus=cpus, dashboard_agent_listen_port=free_port()) for cpus in node_cpus]
        yield cluster, nodes, cluster.address
    finally:
        cluster.shutdown()
        if saved is None:
            os.environ.pop("RAY_TMPDIR", None)
        else:
            os.environ["RAY_TMPDIR"] = saved
