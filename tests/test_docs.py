"""The manual builds strictly (no broken page, link, image or anchor) and the README stays a front door
(at most 250 lines, every relative link resolving). The README and the pages follow the code: every
`painterly` command in them uses a sub-command and flags the CLI has, and every repository path and
`painterly.x.y` name they mention exists. None of this runs a stylisation: a few seconds in all."""

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCS = ROOT / "docs"
MAX_README_LINES = 250


def _markdown_links(text: str) -> list[str]:
    """Targets of [text](target) and ![alt](target), outside code blocks and code spans."""
    text = re.sub(r"```.*?```", "", text, flags=re.S)
    text = re.sub(r"`[^`\n]*`", "", text)
    return [m.group(1) for m in re.finditer(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)", text)]


def test_readme_is_a_front_door():
    lines = README.read_text().splitlines()
    assert len(lines) <= MAX_README_LINES, f"README.md has {len(lines)} lines; move detail into docs/"


def test_readme_relative_links_exist():
    missing = []
    for target in _markdown_links(README.read_text()):
        if re.match(r"[a-z][a-z0-9+.-]*:", target) or target.startswith("#"):
            continue                                  # http(s)://, mailto:, in-page anchors
        path = target.split("#", 1)[0]
        if not (ROOT / path).exists():
            missing.append(target)
    assert not missing, f"README.md links to missing files: {missing}"


def test_mkdocs_builds_strictly(tmp_path):
    pytest.importorskip("material", reason="mkdocs-material is in the dev extra")
    run = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet",
                          "--config-file", str(ROOT / "mkdocs.yml"), "--site-dir", str(tmp_path / "site")],
                         cwd=ROOT, capture_output=True, text=True, timeout=120,
                         env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})
    assert run.returncode == 0, run.stdout + run.stderr
    assert (tmp_path / "site" / "index.html").exists()
    # every page in the nav was built, and the README's images are on the site too
    for page in ("install", "gatys", "magenta", "errors", "benchmarks", "development"):
        assert (tmp_path / "site" / f"{page}.html").exists(), page
    assert (tmp_path / "site" / "images" / "demo.png").exists()


def _commands(text: str):
    """(line, argv) for every `painterly ...` command line in the fenced bash blocks of a Markdown text;
    continuation lines are joined, comments dropped."""
    for block in re.findall(r"```bash\n(.*?)```", text, re.S):
        for line in block.replace("\\\n", " ").splitlines():
            line = line.split(" #", 1)[0].strip()
            m = re.search(r"(?:^|\s|/)painterly\s+(.*)$", line)
            if not m or line.startswith(("pip", "python", "curl")) or "=" in line.split()[0]:
                continue
            try:
                yield line, shlex.split(m.group(1))
            except ValueError:
                continue


def test_documented_commands_use_real_flags():
    """Catches a renamed flag or sub-command the docs still spell (it does not run the commands)."""
    from painterly import cli
    parser = cli.build_parser()
    subs = next(a for a in parser._actions if a.dest == "command").choices
    bad = []
    for md in [README, *sorted(DOCS.glob("*.md"))]:
        for line, argv in _commands(md.read_text()):
            if not argv or argv[0] not in subs:
                bad.append(f"{md.name}: unknown sub-command: {line}")
                continue
            known = {s for a in subs[argv[0]]._actions for s in a.option_strings}
            for word in argv[1:]:
                flag = word.split("=", 1)[0]
                if flag.startswith("--") and flag not in known and flag != "--help":
                    bad.append(f"{md.name}: {argv[0]} has no {flag}: {line}")
    assert not bad, "\n".join(bad)


def _all_flags(parser) -> set[str]:
    """Every option string of a parser and of its sub-commands, recursively."""
    import argparse
    flags = set()
    for action in parser._actions:
        flags.update(action.option_strings)
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                flags |= _all_flags(sub)
    return flags


def test_flags_named_in_the_text_exist():
    """A `--flag` in a code span of the README or a page (tables, prose) is a flag of some sub-command."""
    from painterly import cli
    known = _all_flags(cli.build_parser()) | {"--help", "--flag"}      # `--flag`: the word itself
    bad = []
    for md in [README, *sorted(DOCS.glob("*.md"))]:
        text = re.sub(r"```.*?```", "", md.read_text(), flags=re.S)
        for span in re.findall(r"`([^`\n]+)`", text):
            if re.search(r"\b(mkdocs|pip|torchrun)\b", span):
                continue                              # another program's flags
            for flag in re.findall(r"(?<![\w-])--[a-z][a-z0-9-]*", span):
                if flag not in known:
                    bad.append(f"{md.name}: {flag} (in `{span}`)")
    assert not bad, "\n".join(bad)


def _spans(md: Path) -> list[str]:
    return re.findall(r"`([^`\n]+)`", re.sub(r"```.*?```", "", md.read_text(), flags=re.S))


def test_paths_and_names_in_the_text_exist():
    """A repository path (`painterly/magenta/engine.py`) or a dotted name (`painterly.training.Trainer`) in
    a code span of the README or a page still exists, so the manual follows the code when it moves."""
    import importlib
    bad = []
    for md in [README, *sorted(DOCS.glob("*.md"))]:
        for span in _spans(md):
            for word in re.findall(r"[\w./-]+", span):
                word = word.rstrip(".")
                if re.fullmatch(r"(painterly|docs|tests|scripts|\.ci)/[\w./-]*", word) and "<" not in span:
                    if not (ROOT / word).exists():
                        bad.append(f"{md.name}: no such path {word}")
                elif re.fullmatch(r"painterly(\.\w+)+", word) and not re.fullmatch(r".*\.(py|md|json|png|jpg|pt)", word):
                    parts, obj = word.split("."), None
                    for i in range(len(parts), 0, -1):          # the longest importable module prefix
                        try:
                            obj = importlib.import_module(".".join(parts[:i]))
                        except ImportError:
                            continue
                        try:
                            for attr in parts[i:]:
                                obj = getattr(obj, attr)
                        except AttributeError:
                            obj = None
                        break
                    if obj is None:
                        bad.append(f"{md.name}: no such name {word}")
    assert not bad, "\n".join(bad)
