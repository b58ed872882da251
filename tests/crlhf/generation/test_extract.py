"""Code extraction from chat replies, and the character/token mapping back into the reply."""

from __future__ import annotations

from crlhf.generation.extract import completion_spans, extract_code
from crlhf.generation.offsets import char_ends, code_line_tokens, line_tokens
from crlhf.schemas import split_code

REPLY = (
    "Sure! Here is the function:\n"
    "\n"
    "```python\n"
    "import math\n"
    "\n"
    "def area(r):\n"
    "    return math.pi * r ** 2\n"
    "\n"
    "print(area(2))\n"
    "```\n"
    "It squares the radius."
)


def _spans_hold(reply: str, code: str, spans: tuple[tuple[int, int], ...]) -> bool:
    return code == "\n".join(reply[s:e] for s, e in spans)


def test_the_fenced_block_is_extracted_without_example_calls_and_spans_point_into_the_reply() -> (
    None
):
    found = extract_code(REPLY)
    assert found.method == "fence"
    assert found.code == "import math\ndef area(r):\n    return math.pi * r ** 2"
    assert _spans_hold(REPLY, found.code, found.spans)
    assert REPLY[found.spans[1][0] : found.spans[1][1]] == "def area(r):"
    assert found.spans[0] == (REPLY.index("import math"), REPLY.index("import math") + 11)


def test_without_a_fence_the_longest_parseable_prefix_from_the_first_def_is_taken() -> None:
    reply = "You can write:\ndef f(x):\n    return x + 1\nThis adds one.\n"
    found = extract_code(reply)
    assert found.method == "prefix"
    assert found.code == "def f(x):\n    return x + 1"
    assert _spans_hold(reply, found.code, found.spans)


def test_an_unclosed_fence_runs_to_the_end_and_main_guards_are_dropped() -> None:
    reply = '```python\ndef g():\n    return 2\nif __name__ == "__main__":\n    g()'
    found = extract_code(reply)
    assert found.code == "def g():\n    return 2"


def test_a_block_that_does_not_parse_is_used_only_when_no_other_does() -> None:
    reply = "```\nthis is not python(\n```\n```python\nx = 1\n```"
    assert extract_code(reply).code == "x = 1"
    broken = "```python\ndef f(:\n    pass\n```"
    found = extract_code(broken)
    assert found.method == "fence" and found.code == "def f(:\n    pass"


def test_prose_and_blank_replies_give_an_empty_extraction() -> None:
    for reply in ("I cannot help with that.", "", "\n\n", "```python\n```"):
        found = extract_code(reply)
        assert found.method == "none" and not found.found and found.spans == ()


def test_a_completion_reply_is_its_own_code() -> None:
    reply = "    return 1\n"
    found = completion_spans(reply)
    assert found.code == reply and _spans_hold(reply, reply, found.spans)


def test_token_offsets_of_a_hand_made_reply_map_each_code_line_to_its_tokens() -> None:
    # A hand-made tokenisation: each token's text, with one UTF-8 character ("é")
    # split over two byte tokens, as byte-level BPE does.
    pieces = ["Here", ":\n```", "python\n", "def", " f", "():\n", "    return", " 'é", "'\n```"]
    # Token 7 is split in two byte tokens: " '\xc3" then "\xa9" (é = c3 a9).
    raw = [p.encode() for p in pieces]
    split = [*raw[:7], b" '\xc3", b"\xa9", raw[8]]
    reply = b"".join(split).decode()

    def decode(ids: list[int]) -> str:
        return b"".join(split[i] for i in ids).decode("utf-8", errors="replace")

    ends = char_ends(decode, list(range(len(split))))
    assert ends[-1] == len(reply)
    assert ends[7] == ends[6] + 2  # " '" only: the half character is not counted yet
    assert ends[8] == ends[7] + 1  # the token completing "é" owns it
    found = extract_code(reply)
    assert found.code == "def f():\n    return 'é'"
    tokens = code_line_tokens(found.spans, ends)
    # "def f():" is tokens 3..5 ("():\n" straddles the break but starts on this line);
    # "    return 'é'" is tokens 6..9 (the last token "'\n```" holds its closing quote).
    assert tokens == [range(3, 6), range(6, 10)]
    for span, owned in zip(found.spans, tokens, strict=True):
        covered = reply[(ends[owned.start - 1] if owned.start else 0) : ends[owned.stop - 1]]
        assert reply[span[0] : span[1]] in covered


def test_an_empty_line_maps_to_the_token_holding_its_position() -> None:
    ends = [3, 5, 9]  # "abc", "\n\n", "def\n" style ends
    assert line_tokens((4, 4), ends) == range(1, 2)
    assert line_tokens((20, 25), ends) == range(0)


def test_carriage_returns_break_lines_as_split_code_does() -> None:
    # \r\n endings and a bare \r inside the block: the code has the lines annotators see
    # (split_code's), each span holds exactly one of them, and no \r reaches the code.
    reply = "Here:\r\n```python\r\ndef f(x):\r\n    y = x\r    return y\r\n```\r\nDone."
    found = extract_code(reply)
    assert found.code == "def f(x):\n    y = x\n    return y"
    assert _spans_hold(reply, found.code, found.spans)
    assert [line.text for line in split_code(found.code)] == [reply[s:e] for s, e in found.spans]
