"""The README's promises about set-up stay true: CI runs exactly its two commands."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_ci_runs_the_readme_setup_commands():
    readme = (ROOT / "README.md").read_text()
    first_block = re.search(r"```bash\n(.*?)```", readme, re.S).group(1).strip().splitlines()
    assert len(first_block) == 2                      # install; run the tests
    ci = (ROOT / ".ci" / "run").read_text()
    for cmd in first_block:
        assert cmd in ci, f"README command not run by CI: {cmd}"
    assert readme.index("```bash") < readme.index("painterly demo")
