"""The contract document names every column the code requires."""

from pathlib import Path

from peereval.data.contract import TABLES

DOC = (Path(__file__).resolve().parents[1] / "docs" / "data-contract.md").read_text()


def test_every_table_and_column_is_documented():
    for name, spec in TABLES.items():
        assert f"## {name}" in DOC
        for col in spec.columns:
            assert f"| {col.name} |" in DOC or f" {col.name}," in DOC or f", {col.name} |" in DOC, (name, col.name)
