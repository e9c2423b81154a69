"""Every preset and every built-in default gives exactly the results stored in golden.json.

See ``tests/golden.py``: a refactoring keeps every case bit for bit; a default changed on
purpose regenerates the file (``python -m tests.golden``) in the commit that changes it.
"""

from __future__ import annotations

import pytest

from . import golden

STORED = golden.read()
CASES = golden.cases()


def test_the_stored_cases_are_the_cases():
    assert sorted(STORED) == sorted(CASES)


@pytest.mark.parametrize("name", sorted(CASES))
def test_case_is_unchanged_bit_for_bit(name):
    got, want = CASES[name](), STORED[name]
    changed = {
        k: (want["summary"].get(k), v)
        for k, v in got["summary"].items()
        if not golden.same(v, want["summary"].get(k))
    }
    assert not changed, f"{name}: summary changed (stored, now): {changed}"
    assert sorted(got["summary"]) == sorted(want["summary"])
    assert got["series_sha256"] == want["series_sha256"], f"{name}: a recorded series changed"
