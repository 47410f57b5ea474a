"""The decision log's index stays in step with its records: numbers, titles and status."""

from __future__ import annotations

import re
from pathlib import Path

ADR = Path(__file__).resolve().parents[2] / "docs" / "adr"
ROW = re.compile(r"^\| (\d+) \| \[(.+)\]\((\d{4}-[a-z0-9-]+\.md)\) \| (.+) \|$")


def _records() -> dict[int, tuple[str, str, str]]:
    """Each record's number -> (file, title, first word of its status)."""
    found = {}
    for path in sorted(ADR.glob("[0-9][0-9][0-9][0-9]-*.md")):
        text = path.read_text(encoding="utf-8")
        heading = re.match(r"# (\d+)\. (.+)\n", text)
        assert heading, f"{path.name} does not open with '# N. Title'"
        number = int(heading.group(1))
        assert path.name.startswith(f"{number:04d}-"), f"{path.name} is numbered {number}"
        status = text.split("## Status", 1)[1].split("##", 1)[0].split()
        assert status, f"{path.name} has no status"
        found[number] = (path.name, heading.group(2), status[0].rstrip(".;,"))
    return found


def test_every_record_is_in_the_index_with_its_title_and_status() -> None:
    records = _records()
    rows = {}
    for line in (ADR / "README.md").read_text(encoding="utf-8").splitlines():
        match = ROW.match(line)
        if match:
            rows[int(match.group(1))] = (match.group(3), match.group(2), match.group(4))
    assert sorted(rows) == sorted(records), "the index lists other numbers than the files"
    assert list(rows) == sorted(rows), "the index is not in number order"
    for number, (name, title, status) in records.items():
        indexed_name, indexed_title, indexed_status = rows[number]
        assert (indexed_name, indexed_title) == (name, title), number
        assert indexed_status.split()[0].rstrip(".;,") == status, (number, indexed_status)


def test_numbers_run_without_gaps() -> None:
    numbers = sorted(_records())
    assert numbers == list(range(1, len(numbers) + 1))
