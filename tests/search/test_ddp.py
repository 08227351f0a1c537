"""Two gloo processes: different samples per rank, identical weights and alpha after each step."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import torch

_WORKER = """
import sys
from pathlib import Path

import torch
import torch.distributed as dist

from autotsnet.models.cost import estimate
from autotsnet.models.space import SearchSpace
from autotsnet.search.distribution import ArchDistribution
from autotsnet.search.parsec import Parsec, ParsecConfig
from autotsnet.search.supernet import Supernet


def _worker(rank: int, init: str, out: str) -> None:
    torch.set_num_threads(1)
    dist.init_process_group('gloo', init_method=init, rank=rank, world_size=2)
    space = SearchSpace.table1(scale='tiny')
    base = space.base_for_step('sparse')
    torch.manual_seed(0)  # same initial weights on both ranks
    net = Supernet(space.max_cost_genome(), num_classes=3)
    d = ArchDistribution(space.variables('sparse'))
    p = Parsec(
        net,
        d,
        genome_of=lambda a: space.decode(a, base=base),
        flops_of=lambda g: float(estimate(g, num_classes=3).flops),
        config=ParsecConfig(samples=2, target_flops=4e5),
        weight_optimizer=torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.9),
        alpha_optimizer=torch.optim.Adam(d.parameters(), lr=0.025),
    )
    gen = torch.Generator().manual_seed(100 + rank)  # each rank samples different architectures
    data = torch.Generator().manual_seed(rank)  # and reads different batches
    states = []
    for _ in range(2):
        x = (torch.randn(4, 3, 2, 32, 32, generator=data),)
        y = torch.randint(0, 3, (4,), generator=data)
        stats = p.step((x, y), (x, y), gen)
        assert len(stats.omega) == 4  # importance weights over K x world samples
        states.append(
            {
                'theta': d.theta.detach().clone(),
                'params': [t.detach().clone() for t in net.parameters()],
                'buffers': [b.clone() for b in net.buffers() if b.is_floating_point()],
                'omega': stats.omega,
            }
        )
    torch.save(states, Path(out) / f'rank{rank}.pt')
    dist.destroy_process_group()



_worker(int(sys.argv[1]), sys.argv[2], sys.argv[3])
"""


def test_two_ranks_stay_identical(tmp_path: Path) -> None:
    init = f"file://{tmp_path / 'rendezvous'}"
    script = tmp_path / "worker.py"
    script.write_text(_WORKER)
    procs = [
        subprocess.Popen([sys.executable, str(script), str(r), init, str(tmp_path)])
        for r in range(2)
    ]
    assert [p.wait(timeout=240) for p in procs] == [0, 0]
    a = torch.load(tmp_path / "rank0.pt")
    b = torch.load(tmp_path / "rank1.pt")
    for sa, sb in zip(a, b, strict=True):
        assert sa["omega"] == sb["omega"]
        torch.testing.assert_close(sa["theta"], sb["theta"], rtol=0, atol=0)
        for pa, pb in zip(sa["params"], sb["params"], strict=True):
            torch.testing.assert_close(pa, pb, rtol=0, atol=0)
        for ba, bb in zip(sa["buffers"], sb["buffers"], strict=True):
            torch.testing.assert_close(ba, bb, rtol=0, atol=0)
    assert not torch.equal(a[0]["theta"], torch.zeros_like(a[0]["theta"]))
