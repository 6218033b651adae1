#!/usr/bin/env python3
"""Check that the Python ecosystem reads prototoken solution datasets as docs/datasets.md says.

    python3 scripts/check_python.py [DATASET]

Without DATASET it makes a small one with the embedded model (needs `npm ci` first). It checks,
each only where the package is installed (and says plainly when it is not):

- hashlib (always): every batch of data.arrow and of the parts matches its .index.jsonl sha256;
- pyarrow: data.arrow and the parts open as IPC streams (memory-mapped), `e` is a fixed-size
  float32 list of d_model, row counts match dataset_info.json; `prototoken export` Parquet reads;
  `margin` and `polish_steps` (when the dataset has them) keep their types and values in the export;
- polars: pl.read_ipc_stream("data.arrow");
- datasets: load_dataset(DATASET, split="solutions") has `e` as a fixed-length float32 sequence;
  for an incomplete dataset (dataset_info.json `completeness`), split="solutions" is refused and
  split="partial" takes the rows there are.

Exit status: 0 when every check that could run passed, 1 when one failed.
"""
import hashlib
import importlib
import json
import os
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CLI = [os.environ.get("NODE", "node"), os.path.join(ROOT, "dist", "src", "cli", "main.js")]
failures = []


def ok(what):
    print(f"ok    {what}")


def fail(what):
    print(f"FAIL  {what}")
    failures.append(what)


def skip(module):
    print(f"SKIP  {module} is not installed here, so its check did not run (pip install {module})")


def optional(name):
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


def make_dataset():
    out = os.path.join(tempfile.mkdtemp(prefix="prototoken-pycheck-"), "ds")
    texts = os.path.join(ROOT, "data", "tinystories", "stories.jsonl")
    subprocess.run(CLI + ["solve", "--texts", texts, "--length", "8", "--limit", "3", "--preset", "fast", "--out", out, "--quiet"], check=True)
    return out


def check_index(path):
    index = path[: -len(".arrows")] + ".index.jsonl" if path.endswith(".arrows") else path[: -len(".arrow")] + ".index.jsonl"
    if not os.path.exists(index):
        print(f"note  {os.path.basename(path)} has no checksum index (written before checksums)")
        return
    with open(index, encoding="utf-8") as f:
        lines = [json.loads(line) for line in f.read().splitlines() if line.strip()]
    with open(path, "rb") as f:
        data = f.read()
    bad = [e for e in lines[1:] if hashlib.sha256(data[e["offset"]: e["offset"] + e["length"]]).hexdigest() != e["sha256"]]
    if bad:
        fail(f"{os.path.basename(path)}: {len(bad)} entries of {os.path.basename(index)} do not match (first: {bad[0]['kind']} {bad[0]['batch']} at byte {bad[0]['offset']})")
    else:
        ok(f"{os.path.basename(path)}: {len(lines) - 1} messages match {os.path.basename(index)} (hashlib sha256)")


def main():
    made = len(sys.argv) < 2
    ds = make_dataset() if made else sys.argv[1]
    try:
        run_checks(ds)
    finally:
        if made:
            shutil.rmtree(os.path.dirname(ds), ignore_errors=True)
    if failures:
        print(f"{len(failures)} check(s) failed")
        sys.exit(1)
    print("all checks that could run passed")


def run_checks(ds):
    info = json.load(open(os.path.join(ds, "dataset_info.json"), encoding="utf-8"))
    d, rows = info["model"]["d_model"], info["counts"]["rows"]
    incomplete = info.get("completeness", {}).get("status") == "incomplete"
    split = "partial" if incomplete else "solutions"
    if incomplete:
        print(f"note  the dataset is incomplete: {info['completeness']['summary']}")
    data = os.path.join(ds, "data.arrow")
    parts = sorted(os.path.join(ds, f) for f in os.listdir(ds) if f.startswith("part-") and f.endswith(".arrows"))
    print(f"dataset {ds}: {rows} rows, d_model {d}, {len(parts)} part(s)")
    for p in [data, *parts]:
        check_index(p)

    pa = optional("pyarrow")
    if pa is None:
        skip("pyarrow")
    else:
        import pyarrow.ipc  # noqa: F401
        table = pa.ipc.open_stream(pa.memory_map(data)).read_all()
        e = table.schema.field("e").type
        if pa.types.is_fixed_size_list(e) and e.list_size == d and pa.types.is_float32(e.value_type) and table.num_rows == rows:
            ok(f"pyarrow {pa.__version__}: pa.ipc.open_stream(pa.memory_map('data.arrow')) -> {table.num_rows} rows, e {e}")
        else:
            fail(f"pyarrow: data.arrow has e {e} and {table.num_rows} rows; expected fixed_size_list<float>[{d}] and {rows}")
        part_rows = sum(pa.ipc.open_stream(pa.memory_map(p)).read_all().num_rows for p in parts)
        (ok if part_rows >= rows else fail)(f"pyarrow: the {len(parts)} part(s) read as IPC streams, {part_rows} rows")
        parquet = os.path.join(tempfile.mkdtemp(prefix="prototoken-pycheck-pq-"), "check.parquet")
        subprocess.run(CLI + ["export", ds, "--format", "parquet", "--out", parquet, *(["--allow-partial"] if incomplete else [])], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        import pyarrow.parquet as pq
        pt = pq.read_table(parquet)
        (ok if pt.num_rows == rows and pt.schema.field("e").type == e else fail)(f"pyarrow.parquet: prototoken export -> {pt.num_rows} rows, e {pt.schema.field('e').type}")
        recorded = json.loads((pt.schema.metadata or {}).get(b"prototoken.completeness", b"{}")).get("status")
        (ok if (recorded == "incomplete") == incomplete else fail)(f"pyarrow.parquet: the export records completeness {recorded}")
        if "margin" in table.column_names:
            # Solutions with a margin: both columns, their types, and the same values after the Parquet export.
            types_ok = pa.types.is_float32(table.schema.field("margin").type) and pa.types.is_int32(table.schema.field("polish_steps").type)
            same = pt.column("margin").to_pylist() == table.column("margin").to_pylist() and pt.column("polish_steps").to_pylist() == table.column("polish_steps").to_pylist()
            (ok if types_ok and same else fail)(f"pyarrow: margin {table.schema.field('margin').type} and polish_steps {table.schema.field('polish_steps').type}, the same in the Parquet export")
        if "order" in table.column_names:
            order = table.column("order").to_pylist()
            (ok if len(set(order)) == len(order) else fail)(f"pyarrow: order holds {len(order)} distinct input positions (sort by it for input order)")
        shutil.rmtree(os.path.dirname(parquet), ignore_errors=True)

    pl = optional("polars")
    if pl is None:
        skip("polars")
    else:
        df = pl.read_ipc_stream(data)
        (ok if df.height == rows and str(df.schema["e"]).startswith("Array") else fail)(f"polars {pl.__version__}: pl.read_ipc_stream('data.arrow') -> {df.height} rows, e {df.schema['e']}")

    datasets = optional("datasets")
    if datasets is None:
        skip("datasets")
    else:
        hf = datasets.load_dataset(ds, split=split)
        feat = hf.features["e"]
        inner = getattr(feat, "feature", None)
        fixed = getattr(feat, "length", -1) == d and getattr(inner, "dtype", None) == "float32"
        (ok if fixed and hf.num_rows == rows else fail)(f"datasets {datasets.__version__}: load_dataset(DATASET, split='{split}') -> {hf.num_rows} rows, e {feat}")
        if "margin" in hf.features:
            m, p = hf.features["margin"], hf.features["polish_steps"]
            (ok if m.dtype == "float32" and p.dtype == "int32" and len(hf["margin"]) == rows else fail)(f"datasets: margin {m.dtype}, polish_steps {p.dtype}")
        if incomplete:
            try:
                datasets.load_dataset(ds, split="solutions")
                fail("datasets: load_dataset(DATASET, split='solutions') read an incomplete dataset as if whole")
            except ValueError as err:
                ok(f"datasets: load_dataset(DATASET, split='solutions') refuses the incomplete dataset ({str(err).splitlines()[0][:80]})")


if __name__ == "__main__":
    main()
