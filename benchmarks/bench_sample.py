"""Time and memory of ``peereval.data.sample.generate`` (run: python benchmarks/bench_sample.py).

Reports wall time and peak resident memory (``ru_maxrss``) for the small CSV sample and the
large Parquet sample (~1,000 teams, ~100,000 people, ~10 million tickets). Output goes to
``benchmarks/out/`` (git-ignored).
"""

from __future__ import annotations

import resource
import sys
import time
from pathlib import Path

from peereval.data.sample import generate


def main(scale: str = "small") -> None:
    out = Path(__file__).parent / "out" / f"sample_{scale}"
    t0 = time.perf_counter()
    truth = generate(out, seed=1, scale=scale)  # type: ignore[arg-type]
    wall = time.perf_counter() - t0
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    size_mb = sum(f.stat().st_size for f in out.iterdir()) / 1e6
    print(
        f"scale={scale} teams={truth['n_teams']} people={truth['n_people']} "
        f"tickets={truth['n_tickets']} sessions={truth['n_sessions']}"
    )
    print(f"wall={wall:.1f}s peak_rss={peak_mb:.0f}MB disk={size_mb:.1f}MB")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "small")
