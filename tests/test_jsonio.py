"""Error locations in JSONL files are the ones an editor shows."""

import pytest

from selfevo.errors import PipelineError
from selfevo.jsonio import read_jsonl


def test_line_numbers_count_blank_lines(tmp_path):
    path = tmp_path / "a.jsonl"
    path.write_text('\n\n{"q": "x"}\n\n{bad\n')
    with pytest.raises(PipelineError, match=r"a.jsonl: line 5: not valid JSON"):
        read_jsonl(path)
    path.write_text('\n{"q": "x"}\n\n\n{"r": 1}\n')
    with pytest.raises(PipelineError, match=r"a.jsonl: line 5: missing key\(s\) q"):
        read_jsonl(path, required=("q",))
    assert read_jsonl(path) == [{"q": "x"}, {"r": 1}]


def test_a_bad_byte_deep_in_a_big_file_is_located(tmp_path):
    path = tmp_path / "big.jsonl"
    line = b'{"q": "' + b"x" * 2990 + b'"}\n'
    path.write_bytes(line * 20 + b'{"q": "\xff"}\n')
    with pytest.raises(PipelineError, match=rf"big.jsonl: line 21: not UTF-8 text \(invalid start byte at byte {len(line) * 20 + 7}\)"):
        read_jsonl(path)
