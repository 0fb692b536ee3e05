"""Realistic irregularities for the synthetic sample (:mod:`peereval.data.sample`).

Real exports vary: pilots start on whatever day the kick-off happens, tickets are opened at
weekends, a tracker has no priorities, a team goes quiet for a month, some hires never get
the milestone recorded, a session is logged as 0 or 900 minutes, and HR re-exports list a
person twice. :class:`Quirks` switches each of these on independently; ``Quirks()`` (all off)
reproduces the clean sample byte for byte. Every quirk draws from its own random stream, so
switching one on leaves everything else in the data as it was.

The true effects do not change with the quirks (see :mod:`peereval.data.sample_truth`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from typing import Literal

import numpy as np

__all__ = ["Quirks", "StartDay"]

StartDay = Literal["first", "any"]
LONGEST_MINUTES = 16 * 60  # the data contract's upper limit for a session (docs/data-contract.md)


@dataclass(frozen=True)
class Quirks:
    """Which irregularities ``generate`` writes into the data (default: none).

    * ``start_day`` – ``"first"``: every wave starts on the first weekday of its month;
      ``"any"``: each wave starts on a random weekday inside its month.
    * ``any_day_tickets`` – share of tickets created on a random calendar day of their month,
      weekends included (otherwise tickets are created on weekdays only).
    * ``one_team_pilot`` – exactly one pilot team (one wave).
    * ``blank_priority`` – share of tickets whose priority is left blank (1.0: all of them).
    * ``empty_months`` – share of team-months with no tickets at all.
    * ``never_competent`` – share of hires who never reach the competency milestone (no
      ``competent`` or ``on_call_ready`` row, ever), beyond those still onboarding at the end.
    * ``odd_durations`` – share of sessions with an odd recorded length: very short (1–5
      minutes) or very long (8–16 hours, the contract's limit); a tenth of them are 0 or blank,
      which the loader excludes with a ledger reason.
    * ``duplicate_people`` – people listed twice in ``people.csv`` with identical rows (an HR
      re-export pasted below the first).
    * ``changed_duplicate_people`` – people listed twice with a changed role (a re-export
      after a promotion).
    """

    start_day: StartDay = "first"
    any_day_tickets: float = 0.0
    one_team_pilot: bool = False
    blank_priority: float = 0.0
    empty_months: float = 0.0
    never_competent: float = 0.0
    odd_durations: float = 0.0
    duplicate_people: int = 0
    changed_duplicate_people: int = 0

    def __post_init__(self) -> None:
        if self.start_day not in ("first", "any"):
            raise ValueError(f"start_day={self.start_day!r} is not an option; choose 'first' or 'any'")
        for name in ("any_day_tickets", "blank_priority", "empty_months", "never_competent",
                     "odd_durations"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and 0.0 <= v <= 1.0):
                raise ValueError(f"{name}={v!r} must be a share between 0 and 1")
        for name in ("duplicate_people", "changed_duplicate_people"):
            v = getattr(self, name)
            if not (isinstance(v, int) and not isinstance(v, bool) and v >= 0):
                raise ValueError(f"{name}={v!r} must be a whole number ≥ 0")
        if not isinstance(self.one_team_pilot, bool):
            raise ValueError(f"one_team_pilot={self.one_team_pilot!r} must be true or false")

    @property
    def active(self) -> bool:
        """Whether any quirk is switched on."""
        return self != Quirks()

    @classmethod
    def random(cls, seed: int) -> Quirks:
        """A mix of quirks chosen by ``seed`` (each on about half the time, at a random level).

        >>> Quirks.random(5) == Quirks.random(5)
        True
        """
        rng = np.random.default_rng(np.random.SeedSequence([int(seed), 0x5155_4952]))
        on = rng.random(9) < np.array([0.7, 0.4, 0.25, 0.4, 0.35, 0.35, 0.4, 0.25, 0.1])
        levels = rng.random(9)
        return cls(
            start_day="any" if on[0] else "first",
            any_day_tickets=_level(on[1], 0.05 + 0.25 * levels[1]),
            one_team_pilot=bool(on[2]),
            blank_priority=_level(on[3], 1.0 if levels[3] < 0.25 else 0.05 + 0.45 * levels[3]),
            empty_months=_level(on[4], 0.02 + 0.13 * levels[4]),
            never_competent=_level(on[5], 0.05 + 0.25 * levels[5]),
            odd_durations=_level(on[6], 0.05 + 0.25 * levels[6]),
            duplicate_people=int(1 + 3 * levels[7]) if on[7] else 0,
            changed_duplicate_people=1 if on[8] else 0,
        )

    def with_options(self, **given: object) -> Quirks:
        """A copy with the options that were given (``None`` values are ignored)."""
        return replace(self, **{k: v for k, v in given.items() if v is not None})

    def to_dict(self) -> dict[str, object]:
        return asdict(self)

    def cli_args(self) -> list[str]:
        """The ``peereval sample`` options that reproduce these quirks.

        >>> Quirks(start_day="any", blank_priority=0.3).cli_args()
        ['--start-day', 'any', '--blank-priority', '0.3']
        """
        args: list[str] = []
        for f in fields(self):
            v, flag = getattr(self, f.name), "--" + f.name.replace("_", "-")
            if v == f.default:
                continue
            args += [flag] if isinstance(v, bool) else [flag, str(v)]
        return args


def _level(on: bool, value: float) -> float:
    return round(float(value), 2) if on else 0.0


def rng_for(seed: int, quirk: str) -> np.random.Generator:
    """The random stream of one quirk: independent of the clean sample's streams and of each other."""
    tag = int.from_bytes(quirk.encode(), "little") % (2**63)
    return np.random.default_rng(np.random.SeedSequence([int(seed), tag]))


def odd_durations(
    rng: np.random.Generator, dur: np.ndarray, share: float
) -> tuple[np.ndarray, object, np.ndarray, dict]:
    """Replace a ``share`` of session durations with odd ones.

    Returns the new minutes, the column to write (the same int64 array, or a nullable Int64
    array when some lengths are blank), the mask of rows the loader keeps (0 < minutes <=
    16 h, not blank) and the counts by kind.
    """
    import pandas as pd

    n = len(dur)
    odd = rng.random(n) < share
    kind = rng.random(n)  # <0.45 short, <0.9 long, <0.95 zero, else blank
    out = dur.copy()
    short = odd & (kind < 0.45)
    long = odd & (kind >= 0.45) & (kind < 0.9)
    zero = odd & (kind >= 0.9) & (kind < 0.95)
    blank = odd & (kind >= 0.95)
    out[short] = rng.integers(1, 6, int(short.sum()))
    out[long] = rng.integers(480, LONGEST_MINUTES + 1, int(long.sum()))
    out[zero] = 0
    counts = {"short": int(short.sum()), "long": int(long.sum()), "zero": int(zero.sum()),
              "blank": int(blank.sum())}
    valid = ~blank & (out > 0)
    if not blank.any():
        return out, out, valid, counts
    col = pd.array(out, dtype="Int64")
    col[blank] = pd.NA
    return out, col, valid, counts


def duplicate_people(
    rng: np.random.Generator, table: dict, n_exact: int, n_changed: int, roles: list[str]
) -> tuple[dict, dict]:
    """Append HR re-export rows: ``n_exact`` identical copies, ``n_changed`` with another role."""
    import pyarrow as pa

    n = len(table["person_id"])
    pick = rng.choice(n, size=min(n, n_exact + n_changed), replace=False)
    idx = np.concatenate([np.arange(n), pick])
    out = {k: v.take(pa.array(idx)) if isinstance(v, pa.Array) else v[idx] for k, v in table.items()}
    role = np.asarray(out["role"].to_pylist(), dtype=object)
    changed = np.arange(n + min(len(pick), n_exact), len(idx))
    role[changed] = [roles[(roles.index(r) + 1) % len(roles)] for r in role[changed]]
    out["role"] = pa.array(role, pa.string())
    counts = {"exact": int(min(len(pick), n_exact)), "changed_role": len(changed)}
    return out, counts


def quirks_truth(options: dict, tk: dict, onb: dict, info: dict, dups: dict) -> dict:
    """The ``quirks`` block of TRUTH.json (written only when a quirk is switched on)."""
    return {
        "options": options,
        "realised": {
            **tk["quirks"],
            "never_competent_hires": onb["never_competent"],
            "odd_durations": info["durations"],
            "duplicate_people_rows": dups["exact"],
            "changed_duplicate_people_rows": dups["changed_role"],
        },
    }
