"""The graph walk: run every node the moment its dependencies have succeeded.

Not a loop over levels — a node whose dependencies finish early starts early, so the
wall time approaches the critical path rather than the sum of each level's slowest node.
Work runs on a thread pool (the Azure SDK is synchronous). `parallelism` bounds how many
nodes *work* at once, not how many wait: with `Slots`, a node that idles — polling a
long-running operation, waiting for replication or allocation, backing off before a
retry — gives its slot to the next ready node and takes one again to continue. Waiting on
Azure therefore never holds back independent work. Bookkeeping happens on the calling
thread only, so it needs no locks.

When a node fails, every node that depends on it (transitively) is skipped and remembers
the root cause; independent branches carry on (Terraform's `dag/walk.go` does the same).
When `stop()` turns true (a signal asked apply to stop), no node starts any more — not
even one already queued for a slot — while those already working run to their end; the
rest are skipped as "not started" and the run is marked interrupted.
Among ready nodes — and among nodes waiting for a slot, starting or back from idling — the
one heading the heaviest chain of dependents goes first (each node weighted by the
caller's guess of its duration), so a bounded pool spends its workers on the critical
path before the leaves.
"""

from __future__ import annotations

import heapq
import itertools
import queue
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field

from reconciler.apply.model import OutcomeStatus

# Threads that may exist at once while most of them idle on Azure; each costs little.
MAX_THREADS = 256


class Slots:
    """At most `n` nodes work at once; a node that idles gives its slot up meanwhile.

    A freed slot goes to the waiting node of highest priority (earliest arrival among
    equals), whether it is starting or coming back from idling: when more work is ready
    than there are slots, the nodes on the longest chains are served first. In a large
    apply that is what keeps the critical path moving — a pool whose allocation takes an
    hour is created, and its polls answered, before a pool that takes a minute.
    """

    def __init__(self, n: int) -> None:
        if n < 1:
            raise ValueError("parallelism must be at least 1")
        self.n = n
        self._free = n
        self._lock = threading.Lock()
        # Waiters as (-priority, arrival, their event): a freed slot is handed straight to
        # the first, so a release wakes one thread, not every waiter.
        self._waiting: list[tuple[float, int, threading.Event]] = []
        self._arrivals = itertools.count()
        self._local = threading.local()

    def _acquire(self, priority: float) -> None:
        with self._lock:
            if self._free and not self._waiting:
                self._free -= 1
                return
            handed = threading.Event()
            heapq.heappush(self._waiting, (-priority, next(self._arrivals), handed))
        try:
            handed.wait()
        except BaseException:
            with self._lock:
                entry = next((w for w in self._waiting if w[2] is handed), None)
                if entry is not None:
                    self._waiting.remove(entry)
                    heapq.heapify(self._waiting)
            if entry is None:  # the slot was handed over meanwhile: pass it on
                self._release()
            raise

    def _release(self) -> None:
        with self._lock:
            if self._waiting:
                heapq.heappop(self._waiting)[2].set()
            else:
                self._free += 1

    @contextmanager
    def held(self, priority: float = 0.0) -> Iterator[None]:
        """Hold a slot for the duration of the block (the calling thread's node works)."""
        self._acquire(priority)
        self._local.held = True
        self._local.priority = priority
        try:
            yield
        finally:
            if self._local.held:  # not given up for good by `released(take_back=False)`
                self._local.held = False
                self._release()

    @contextmanager
    def released(self, *, take_back: bool = True) -> Iterator[None]:
        """Give the caller's slot up for the block (it waits, it does not work); no-op
        for a thread that holds none. Taken back, by priority, when the block ends — unless
        `take_back` is false: the caller's work is over and only waiting is left."""
        if not getattr(self._local, "held", False):
            yield
            return
        self._local.held = False
        self._release()
        try:
            yield
        finally:
            if take_back:
                self._acquire(self._local.priority)
                self._local.held = True

    def idle(self, sleep: Callable[[float], None]) -> Callable[[float], None]:
        """`sleep` that frees the caller's slot while it sleeps (a no-op wrapper without one)."""

        def idle_sleep(seconds: float) -> None:
            with self.released():
                sleep(seconds)

        return idle_sleep


class _NotStarted(Exception):
    """A queued node found the run stopping when its turn came; it did nothing."""


class CycleError(ValueError):
    """The dependency graph has a cycle; the ids on it are named."""

    def __init__(self, members: Sequence[str]) -> None:
        super().__init__("dependency cycle among: " + ", ".join(members))
        self.members = tuple(members)


@dataclass(slots=True)
class GraphRun:
    """What happened to each node (mutable while running, read after `run_graph` returns)."""

    status: dict[str, OutcomeStatus] = field(default_factory=dict)
    errors: dict[str, BaseException] = field(default_factory=dict)
    blocked_by: dict[str, tuple[str, ...]] = field(default_factory=dict)
    interrupted: bool = False


def _check_acyclic(order: Sequence[str], deps: Mapping[str, tuple[str, ...]]) -> None:
    indegree = {n: len(deps[n]) for n in order}
    dependents: dict[str, list[str]] = {n: [] for n in order}
    for n in order:
        for d in deps[n]:
            dependents[d].append(n)
    queue = [n for n in order if indegree[n] == 0]
    seen = 0
    while queue:
        n = queue.pop()
        seen += 1
        for m in dependents[n]:
            indegree[m] -= 1
            if indegree[m] == 0:
                queue.append(m)
    if seen != len(order):
        raise CycleError([n for n in order if indegree[n] > 0])


def chain_lengths(
    order: Sequence[str],
    deps: Mapping[str, tuple[str, ...]],
    weight: Callable[[str], float] = lambda _n: 1.0,
) -> dict[str, float]:
    """For each node, the weight of the heaviest path from it through its dependents."""
    dependents: dict[str, list[str]] = {n: [] for n in order}
    for n in order:
        for d in deps[n]:
            dependents[d].append(n)
    memo: dict[str, float] = {}

    def longest(n: str) -> float:
        # Iterative post-order would avoid recursion limits; plans are far below them.
        if n not in memo:
            memo[n] = weight(n) + max((longest(m) for m in dependents[n]), default=0.0)
        return memo[n]

    return {n: longest(n) for n in order}


def run_graph(
    nodes: Sequence[tuple[str, Sequence[str]]],
    work: Callable[[str], None],
    *,
    parallelism: int,
    on_skip: Callable[[str, tuple[str, ...]], None] | None = None,
    priority: Mapping[str, float] | None = None,
    weight: Callable[[str], float] | None = None,
    slots: Slots | None = None,
    stop: Callable[[], bool] | None = None,
) -> GraphRun:
    """Run `work(id)` for every node after its dependencies succeeded; never raise from work.

    `nodes` is (id, depends_on) in plan order; dependencies naming ids not in `nodes` are
    treated as already satisfied (they are no part of this run). A `work` that raises marks
    its node failed and skips its dependents, calling `on_skip(id, root_causes)` once per
    skipped node. `priority` (higher first) orders ready nodes, and with `slots` also the
    nodes waiting for a slot; by default the weight of the heaviest chain of dependents,
    each node weighing `weight(id)` (1 without). With `slots`, every ready node gets a
    thread at once (up to `MAX_THREADS`) and `slots` bounds how many work at a time;
    without, `parallelism` threads bound the nodes in flight. Once `stop()` is true no further node starts (see the
    module docstring). Raises `CycleError` before running anything on a cycle.
    """
    if parallelism < 1:
        raise ValueError("parallelism must be at least 1")
    order = [n for n, _ in nodes]
    if len(set(order)) != len(order):
        raise ValueError("duplicate node ids")
    known = set(order)
    deps = {n: tuple(dict.fromkeys(d for d in ds if d in known)) for n, ds in nodes}
    _check_acyclic(order, deps)
    index = {n: i for i, n in enumerate(order)}
    rank = (
        dict(priority)
        if priority is not None
        else chain_lengths(order, deps, weight or (lambda _n: 1.0))
    )
    dependents: dict[str, list[str]] = {n: [] for n in order}
    for n in order:
        for d in deps[n]:
            dependents[d].append(n)

    run = GraphRun()
    waiting = {n: len(deps[n]) for n in order}
    # Ready nodes as a heap of (-priority, plan position, id): each pick is O(log n), not a
    # scan of everything ready (hundreds of pools become ready at once).
    ready = [(-rank.get(n, 0.0), index[n], n) for n in order if waiting[n] == 0]
    heapq.heapify(ready)
    running: dict[Future[None], str] = {}

    def skip_from(root: str) -> None:
        stack = list(dependents[root])
        while stack:
            n = stack.pop()
            if n in run.status and run.status[n] is not OutcomeStatus.SKIPPED:
                continue  # already ran (cannot happen for a true dependent) or failed
            roots = run.blocked_by.get(n, ())
            if root in roots:
                continue
            run.blocked_by[n] = (*roots, root)
            if n not in run.status:
                run.status[n] = OutcomeStatus.SKIPPED
                if on_skip is not None:
                    on_skip(n, run.blocked_by[n])
            stack.extend(dependents[n])

    def next_ready() -> str:
        return heapq.heappop(ready)[2]

    stopping = stop or (lambda: False)

    def begin(n: str) -> None:
        # Checked at the last moment: a node queued before the stop must not start after it.
        if stopping():
            raise _NotStarted(n)
        work(n)

    if slots is not None:
        threads = max(1, min(len(order), MAX_THREADS))

        def task(n: str) -> None:
            with slots.held(rank.get(n, 0.0)):
                begin(n)

    else:
        threads = parallelism
        task = begin
    pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="apply")
    # Finished futures arrive here (a done-callback each): waiting costs the same with
    # three hundred nodes in flight as with one, where `wait(running)` would register a
    # waiter on every running future at every turn of the loop.
    done: queue.Queue[Future[None]] = queue.Queue()
    try:
        while ready or running:
            # Ready nodes are submitted highest priority first; the slots' semaphore then
            # wakes waiters in arrival order, so priority survives the hand-off.
            while ready and len(running) < threads and not run.interrupted and not stopping():
                n = next_ready()
                future = pool.submit(task, n)
                running[future] = n
                future.add_done_callback(done.put)
            if not running:
                break
            finished = [done.get()]
            while not done.empty():
                finished.append(done.get_nowait())
            for future in finished:
                n = running.pop(future)
                error = future.exception()
                if isinstance(error, _NotStarted):
                    continue  # left without a status: reported as not started below
                if error is None:
                    run.status[n] = OutcomeStatus.DONE
                    for m in dependents[n]:
                        waiting[m] -= 1
                        if waiting[m] == 0 and m not in run.status:
                            heapq.heappush(ready, (-rank.get(m, 0.0), index[m], m))
                else:
                    run.status[n] = OutcomeStatus.FAILED
                    run.errors[n] = error
                    skip_from(n)
    except KeyboardInterrupt:
        # Stop starting work; what is running finishes (threads cannot be cancelled) so the
        # journal records its end, then the rest is reported as not started.
        run.interrupted = True
        for future in list(running):
            try:
                future.result()
                run.status[running[future]] = OutcomeStatus.DONE
            except _NotStarted:
                pass  # reported as not started below
            except Exception as error:  # reported, not raised: the walk is over
                run.status[running[future]] = OutcomeStatus.FAILED
                run.errors[running[future]] = error
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    unstarted = [n for n in order if n not in run.status]
    if unstarted and stopping():
        run.interrupted = True
    for n in unstarted:
        if n not in run.status:
            run.status[n] = OutcomeStatus.SKIPPED
            if on_skip is not None:
                on_skip(n, run.blocked_by.get(n, ()))
    return run
