"""The options that choose an engine (imports nothing of the engines: the command line builds
its flags from them without loading Ray or torch)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from ..options import OptionError, check_fields, opt

ENGINES = ("local", "ray")


@dataclass(frozen=True)
class EngineOptions:
    """Where a folder or a video is painted, and whether pictures that already exist are painted again."""

    engine: str = opt("local", choices=ENGINES, web=False,
                      help="folders and videos: paint in this process (local) or on Ray workers (ray; pip install "
                           "'painterly[ray]'), on this machine or a cluster")
    address: Optional[str] = opt(None, web=False, metavar="ADDR",
                                 help="engine ray: an existing cluster (host:6379, ray://host:10001 or auto); "
                                      "default: start one on this machine, reachable from 127.0.0.1 only")
    workers: Optional[int] = opt(None, min=1, web=False, metavar="N",
                                 help="engine ray: painting processes (default: one per GPU of the cluster, else "
                                      "one per CPU core)")
    batch_size: int = opt(4, min=1, web=False, metavar="N",
                          help="engine ray: photos per task (fewer round trips; a lost worker's task is "
                               "painted again)")
    segment: int = opt(48, min=1, web=False, metavar="FRAMES",
                       help="engine ray, videos: frames per segment (one task each; painted apart, joined in order)")
    overlap: int = opt(8, min=0, web=False, metavar="FRAMES",
                       help="engine ray, videos: frames before each segment painted only to seed its temporal state, "
                            "so segments join without a jump")
    threads: Optional[int] = opt(None, min=1, web=False, metavar="N",
                                 help="torch threads of each painting process (default: local: every core; ray: "
                                      "the cores shared out among the workers); the engines' pictures are "
                                      "byte-identical when it is the same")
    overwrite: bool = opt(False, web=False,
                          help="folders: paint pictures that already exist again (default: keep them, so a "
                               "rerun resumes where a stopped one ended)")

    def validate(self) -> EngineOptions:
        check_fields(self)
        if self.engine != "ray":
            for name in ("address", "workers"):
                if getattr(self, name) is not None:
                    raise OptionError(name, "works with engine ray")
        return self
