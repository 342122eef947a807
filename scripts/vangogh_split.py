"""The photo -> van Gogh CycleGAN data split (issue 15), reproducible from the shared data.

Domain A: the 500 BSDS500 photos (mostly outdoor scenes: landscapes, buildings, animals, people);
every 4th test photo (50) is held out.  Domain B: the 199 van Gogh paintings; every 10th (20) is
held out.  Writes symlink folders OUT/{trainA,trainB,testA,testB} and prints the counts; the
held-out lists are also in docs/models/vangogh_split.json.

    python scripts/vangogh_split.py /work/shared/data /work/cg-data
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

EXTS = {".jpg", ".jpeg", ".png"}


def split(data: Path) -> dict[str, list[Path]]:
    photos = sorted(p for p in (data / "photos" / "bsds500").rglob("*") if p.suffix.lower() in EXTS)
    paintings = sorted(p for p in (data / "vangogh").iterdir() if p.suffix.lower() in EXTS)
    test_photos = sorted(p for p in photos if p.parent.name == "test")[::4]
    test_paintings = paintings[::10]
    return {"trainA": [p for p in photos if p not in test_photos], "testA": test_photos,
            "trainB": [p for p in paintings if p not in test_paintings], "testB": test_paintings}


def main(data: str, out: str) -> None:
    parts = split(Path(data))
    for name, files in parts.items():
        d = Path(out) / name
        d.mkdir(parents=True, exist_ok=True)
        for f in files:
            link = d / f"{f.parent.name}_{f.name}"
            if not link.exists():
                link.symlink_to(f.resolve())
        print(name, len(files))
    lists = {k: [str(f.relative_to(data)) for f in v] for k, v in parts.items() if k.startswith("test")}
    Path(out, "split.json").write_text(json.dumps(lists, indent=1))


if __name__ == "__main__":
    main(*sys.argv[1:3])
