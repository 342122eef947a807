"""`python -m painterly.bench`: the measurement subprocesses of the harness (one run per process,
so that peak memory is that run's alone), or `painterly bench gatys` with the given flags."""

import json
import sys

from . import inference_worker, peer_worker, worker

if len(sys.argv) == 6 and sys.argv[1] == "--worker":
    print(json.dumps(worker(int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5])))
elif len(sys.argv) == 7 and sys.argv[1] == "--infer":
    print(json.dumps(inference_worker(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5],
                                      int(sys.argv[6]))))
elif len(sys.argv) == 6 and sys.argv[1] == "--peer":
    print(json.dumps(peer_worker(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]))))
elif len(sys.argv) == 8 and sys.argv[1] == "--print":
    from .print_size import print_worker
    print(json.dumps(print_worker(sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5], sys.argv[6] or None,
                                  sys.argv[7] or None)))
else:
    from ..cli import main
    sys.exit(main(["bench", "gatys", *sys.argv[1:]]))
