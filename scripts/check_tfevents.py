#!/usr/bin/env python3
"""Check that TensorBoard itself reads the event files prototoken writes.

Usage: python3 scripts/check_tfevents.py LOGDIR [--values]

Loads LOGDIR with TensorBoard's EventAccumulator (the loader behind its Scalars dashboard) and
prints every scalar tag with its number of points, step range and last value (--values: every
point). An optional developer check, never a runtime dependency: without tensorboard installed it
says so and exits 0. Exits 1 when the folder holds no event file or TensorBoard finds no scalar.
"""
import argparse
import glob
import os
import sys


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("logdir", help="folder holding events.out.tfevents.* files")
    parser.add_argument("--values", action="store_true", help="print every (step, value) point")
    args = parser.parse_args()

    try:
        from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    except ImportError:
        print("tensorboard is not installed: pip install tensorboard")
        return 0

    files = sorted(glob.glob(os.path.join(args.logdir, "events.out.tfevents.*")))
    if not files:
        print(f"{args.logdir}: no events.out.tfevents.* file", file=sys.stderr)
        return 1
    print(f"{len(files)} event file(s) in {args.logdir}")

    # size_guidance 0 = keep every point (the default samples scalars down to 10000).
    acc = EventAccumulator(args.logdir, size_guidance={"scalars": 0})
    acc.Reload()
    tags = acc.Tags().get("scalars", [])
    if not tags:
        print(f"{args.logdir}: TensorBoard found no scalars", file=sys.stderr)
        return 1
    for tag in sorted(tags):
        points = acc.Scalars(tag)
        steps = [p.step for p in points]
        print(f"{tag}: {len(points)} points, steps {min(steps)}..{max(steps)}, last {points[-1].value:.6g}")
        if args.values:
            for p in points:
                print(f"  step {p.step} value {p.value!r} wall_time {p.wall_time:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
