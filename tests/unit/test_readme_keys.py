"""The README's key table is the one generated from the action registry, so they cannot drift."""

import re
from pathlib import Path

from tui.keys import key_table

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_key_table_matches_the_registry():
    text = README.read_text()
    match = re.search(r"<!-- keys:start -->\n(.*?)\n<!-- keys:end -->", text, flags=re.S)
    assert match, "README.md lacks the generated key table (markers keys:start / keys:end)"
    assert match.group(1).strip() == key_table().strip(), "regenerate it with `python -m tui.keys`"
