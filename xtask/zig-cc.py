#!/usr/bin/env python3
# zig cc as a C compiler for macOS targets: ZIGCC_TARGET names the target;
# cc-rs's -arch and --target= flags are dropped (ZIGCC_TARGET says it).
import os, sys
args, skip = [], False
for a in sys.argv[1:]:
    if skip: skip = False; continue
    if a == "-arch": skip = True; continue
    if a.startswith("--target="): continue
    args.append(a)
py = os.environ.get("ZIGCC_PYTHON", sys.executable)
os.execv(py, [py, "-m", "ziglang", "cc", "-target", os.environ["ZIGCC_TARGET"]] + args)
