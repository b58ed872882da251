"""JSONL import/export helpers: errors name the file and the line."""

from __future__ import annotations

import json

import pytest

from crlhf.errors import InvalidFile
from crlhf.jsonl import read_jsonl, write_jsonl
from crlhf.schemas import ProblemIn, SampleIn

PROBLEM = {"id": "p-1", "title": "Add", "description": "Add two numbers."}


def test_round_trip_skips_blank_lines(tmp_path):
    path = tmp_path / "p.jsonl"
    path.write_text(json.dumps(PROBLEM) + "\n\n   \n" + json.dumps({**PROBLEM, "id": "p-2"}) + "\n")
    problems = read_jsonl(path, ProblemIn)
    assert [p.id for p in problems] == ["p-1", "p-2"]
    out = tmp_path / "sub" / "out.jsonl"
    assert write_jsonl(out, problems) == 2
    assert read_jsonl(out, ProblemIn) == problems
    assert not list(out.parent.glob(".*.tmp"))


def test_bad_json_names_file_line_and_column(tmp_path):
    path = tmp_path / "p.jsonl"
    path.write_text(json.dumps(PROBLEM) + "\n" + '{"id": "p-2",,}\n')
    with pytest.raises(InvalidFile, match=r"p\.jsonl:2: not valid JSON: .*column 14"):
        read_jsonl(path, ProblemIn)


def test_invalid_record_names_the_field(tmp_path):
    path = tmp_path / "s.jsonl"
    gold_mismatch = {"problem_id": "p-1", "code": "x = 1\ny = 2\n", "gold": {"1": 1}}
    path.write_text(json.dumps(gold_mismatch) + "\n")
    with pytest.raises(InvalidFile, match=r"s\.jsonl:1: not a valid SampleIn: .*missing \[2\]"):
        read_jsonl(path, SampleIn)
    path.write_text(json.dumps({**PROBLEM, "extra": 1, "title": ""}) + "\n")
    with pytest.raises(InvalidFile, match=r"title: .*\(and 1 more problem\(s\)\)"):
        read_jsonl(path, ProblemIn)


def test_missing_empty_and_binary_files(tmp_path):
    with pytest.raises(InvalidFile, match="cannot read: No such file"):
        read_jsonl(tmp_path / "nope.jsonl", ProblemIn)
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n")
    with pytest.raises(InvalidFile, match="no records"):
        read_jsonl(empty, ProblemIn)
    binary = tmp_path / "bin.jsonl"
    binary.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(InvalidFile, match="not UTF-8"):
        read_jsonl(binary, ProblemIn)
