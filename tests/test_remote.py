"""Remote storage: INPUT_DIR, OUTPUT_DIR and --report as s3:// URLs, against moto's S3 server on
127.0.0.1 (started here). A run from bucket to bucket writes the same bytes as the same run on
local folders; kill -9 and the same command again give the same objects; the Dask engine too;
what cannot work is refused in one line, with exit 2, before anything is written."""

from __future__ import annotations

import gzip
import importlib.util
import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import SEEDS, fault_env, kill_9_after, prose, tree_bytes, write

pytest.importorskip("s3fs")
moto_server = pytest.importorskip("moto.server")

KEY, SECRET = "cleaner-test-key", "cleaner-test-secret-7f3a"  # moto takes any


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class S3:
    """The server, a client of it, and a config file that points cleaner at it."""

    def __init__(self, endpoint: str, root: Path) -> None:
        import s3fs

        self.endpoint = endpoint
        self.fs = s3fs.S3FileSystem(key=KEY, secret=SECRET, endpoint_url=endpoint)
        self.config = root / "s3.toml"
        self.config.write_text(f'[storage]\nendpoint_url = "{endpoint}"\nkey = "{KEY}"\nsecret = "{SECRET}"\n')
        self.n = 0

    def bucket(self) -> str:
        """A new, empty bucket."""
        self.n += 1
        name = f"b{self.n}-{os.getpid()}"
        self.fs.mkdir(name)
        return name

    def upload(self, local: Path, url: str) -> None:
        for p in sorted(local.rglob("*")):
            if p.is_file():
                self.fs.pipe_file(f"{url[5:]}/{p.relative_to(local).as_posix()}", p.read_bytes())

    def keys(self, url: str) -> list[str]:
        self.fs.invalidate_cache()
        try:
            return self.fs.find(url[5:])
        except FileNotFoundError:
            return []

    def tree(self, url: str) -> dict[str, bytes]:
        base = url[5:].rstrip("/") + "/"
        self.fs.invalidate_cache()
        return {k[len(base):]: self.fs.cat_file(k) for k in sorted(self.fs.find(base))}


@pytest.fixture(scope="module")
def s3(tmp_path_factory):
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # the server's request log
    port = _free_port()
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    mp = pytest.MonkeyPatch()
    # nothing of this machine's AWS set-up is read, and botocore never asks the network for one
    for k in list(os.environ):
        if k.startswith("AWS_"):
            mp.delenv(k)
    mp.setenv("AWS_EC2_METADATA_DISABLED", "true")
    mp.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    mp.setenv("AWS_CONFIG_FILE", "/nonexistent")
    mp.delenv("CLEANER_STORAGE_OPTIONS", raising=False)
    try:
        yield S3(f"http://127.0.0.1:{port}", tmp_path_factory.mktemp("s3"))
    finally:
        mp.undo()
        server.stop()


def corpus(root: Path) -> None:
    """Text files (the seeds, and copies), JSONL.gz shards with duplicates, a Parquet file of two
    row groups, a hidden file and an unsupported one."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    for p in sorted(SEEDS.glob("*.txt")):
        write(root, f"seeds/{p.name}", p.read_bytes())
    write(root, "seeds/copy.txt", sorted(SEEDS.glob("*.txt"))[0].read_bytes())
    for f in range(3):
        recs = [{"id": f"{f}-{i}", "text": "\n".join(prose(100 * f + 10 * i + k, 3) for k in range(3)) +
                 "\nShare this article"} for i in range(8)]
        recs.append({"id": f"{f}-dup", "text": recs[0]["text"]})
        data = "".join(json.dumps(r) + "\n" for r in recs).encode()
        write(root, f"shards/part-{f}.jsonl.gz", gzip.compress(data, mtime=0))
    write(root, "shards/plain.jsonl", "".join(json.dumps({"id": f"p{i}", "text": prose(900 + i, 3)}) + "\n"
                                              for i in range(5)))
    rows = [{"id": i, "text": "\n".join(prose(5000 + 10 * i + k, 2) for k in range(3)), "n": i} for i in range(12)]
    rows.append({"id": 99, "text": rows[3]["text"], "n": 99})
    (root / "table").mkdir(parents=True)
    pq.write_table(pa.Table.from_pylist(rows), root / "table/t.parquet", row_group_size=7)
    # the same text twice, in names that sort one way as strings and the other way folder by
    # folder: which copy is the first (and stays) follows the order of the corpus
    twice = "\n".join(prose(8000 + k, 3) for k in range(3)) + "\n"
    write(root, "dup.txt", twice)
    write(root, "dup/x.txt", twice)
    write(root, ".hidden/x.txt", "hidden\n")
    write(root, "notes.pdf", b"%PDF-1.4")


def report_of(data: bytes) -> dict:
    """report.json without what differs between two runs of the same corpus (where, how long,
    on which engine)."""
    rep = json.loads(data)
    for k in ("input", "output", "report_dir", "timings", "engine"):
        rep.pop(k)
    for k in ("engine", "workers", "scheduler"):
        rep["config"].pop(k)
    return rep


def assert_same_run(s3: S3, local_out: Path, url_out: str, url_report: str | None = None) -> None:
    assert s3.tree(url_out) == tree_bytes(local_out)
    report = s3.tree(url_report or url_out + ".report")
    local_report = local_out.parent / f"{local_out.name}.report"
    assert set(report) == {"removed.jsonl", "report.json", "run.json", "summary.txt"}
    assert report["removed.jsonl"] == (local_report / "removed.jsonl").read_bytes()
    assert report_of(report["report.json"]) == report_of((local_report / "report.json").read_bytes())


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The corpus, and the same run on local folders."""
    from cleaner.cli import main

    root = tmp_path_factory.mktemp("ref")
    corpus(root / "in")
    assert main([str(root / "in"), str(root / "out"), "-q", "--workers", "2"]) == 0
    return root


def test_bucket_to_bucket_matches_the_run_on_local_folders(cli, s3, reference):
    src, dst = s3.bucket(), s3.bucket()
    s3.upload(reference / "in", f"s3://{src}/corpus")
    r = cli(f"s3://{src}/corpus", f"s3://{dst}/clean", "--config", s3.config, "-q", "--workers", "2")
    assert r.code == 0, r.err
    assert_same_run(s3, reference / "out", f"s3://{dst}/clean")
    rep = json.loads(s3.tree(f"s3://{dst}/clean.report")["report.json"])
    assert rep["input"] == f"s3://{src}/corpus" and rep["output"] == f"s3://{dst}/clean"
    assert {"file": ".hidden", "reason": "hidden"} in rep["skipped"]
    assert rep["files"]["found"] == 13 and rep["documents"]["removed"]
    # the storage options (credentials) appear nowhere in the report
    everything = b"".join(s3.tree(f"s3://{dst}/clean.report").values())
    assert SECRET.encode() not in everything and KEY.encode() not in everything
    assert b"endpoint_url" not in everything and b'"storage"' not in everything


def test_config_storage_options_are_never_shown(cli, s3):
    r = cli("config", "--config", s3.config)
    assert r.code == 0 and "storage" not in r.out and s3.endpoint not in r.out and SECRET not in r.out
    from cleaner.config import Config

    cfg = Config(storage={"key": "K", "secret": "SECRET-VALUE"})
    assert "SECRET-VALUE" not in repr(cfg) and "SECRET-VALUE" not in json.dumps(cfg.as_dict())
    assert cfg.fingerprint() == Config().fingerprint()


def test_local_input_to_a_bucket_and_options_from_the_environment(cli, s3, reference, tmp_path, monkeypatch):
    dst = s3.bucket()
    monkeypatch.setenv("CLEANER_STORAGE_OPTIONS", json.dumps({"endpoint_url": s3.endpoint, "key": KEY,
                                                              "secret": SECRET}))
    r = cli(reference / "in", f"s3://{dst}/o", "--report", tmp_path / "rep", "-q", "--workers", "0")
    assert r.code == 0, r.err
    assert s3.tree(f"s3://{dst}/o") == tree_bytes(reference / "out")
    assert (tmp_path / "rep/removed.jsonl").read_bytes() == (reference / "out.report/removed.jsonl").read_bytes()


def test_output_formats_jsonl_shards_and_txt_to_a_bucket(cli, s3, reference, tmp_path):
    src, dst = s3.bucket(), s3.bucket()
    s3.upload(reference / "in", f"s3://{src}/c")
    for fmt in ("jsonl.gz", "txt"):
        local = tmp_path / fmt
        assert cli(reference / "in", local, "-q", "--workers", "0", "--output-format", fmt).code == 0
        r = cli(f"s3://{src}/c", f"s3://{dst}/{fmt}", "--config", s3.config, "-q", "--workers", "0",
                "--output-format", fmt)
        assert r.code == 0, r.err
        assert s3.tree(f"s3://{dst}/{fmt}") == tree_bytes(local), fmt


def test_overwrite_removes_what_the_previous_run_wrote_and_this_one_did_not(cli, s3, reference):
    src, dst = s3.bucket(), s3.bucket()
    s3.upload(reference / "in", f"s3://{src}/c")
    args = (f"s3://{src}/c", f"s3://{dst}/o", "--config", s3.config, "-q", "--workers", "0")
    assert cli(*args).code == 0
    assert "table/t.parquet" in s3.tree(f"s3://{dst}/o")
    s3.fs.rm_file(f"{src}/c/table/t.parquet")
    before = s3.tree(f"s3://{dst}")
    r = cli(*args, "--threshold", "0.9")  # another command: not a resume of the first
    assert r.code == 2 and "not empty; pass --overwrite" in r.err
    assert s3.tree(f"s3://{dst}") == before
    assert cli(*args, "--threshold", "0.9", "--overwrite").code == 0
    after = s3.tree(f"s3://{dst}/o")
    assert "table/t.parquet" not in after
    expected = {k: v for k, v in tree_bytes(reference / "out").items() if k != "table/t.parquet"}
    assert set(after) == set(expected)


# a task per file, so that a run killed in the middle has finished some of its tasks and outputs
MANY_TASKS = {**os.environ, **fault_env(""), "CLEANER_TASK_FILES": "1"}


def run_clean(*args: object, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "cleaner", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, env=MANY_TASKS)


def test_kill_9_mid_run_then_the_same_command_gives_the_same_objects(s3, reference):
    src = s3.bucket()
    s3.upload(reference / "in", f"s3://{src}/c")
    expected = tree_bytes(reference / "out")
    audit = (reference / "out.report/removed.jsonl").read_bytes()
    # killed once while reading (some map tasks done), once while writing (some outputs there)
    moments = {"map": lambda out: len([k for k in s3.keys(out + ".report/.work") if k.endswith(".pkl")]) >= 3,
               "write": lambda out: len(s3.keys(out)) >= 3}
    runs = [("map", []), ("write", [])]
    if importlib.util.find_spec("distributed") is not None:
        runs.append(("map", ["--engine", "dask"]))  # the client and its LocalCluster killed together
    for moment, engine in runs:
        reached = moments[moment]
        out = f"s3://{s3.bucket()}/o"
        args = [f"s3://{src}/c", out, "--config", str(s3.config), "-q", "--workers", "2", *engine]
        code = kill_9_after(args, 120, MANY_TASKS, until=lambda: reached(out))  # noqa: B023 - called here
        assert code == -signal.SIGKILL, f"the run ended before the kill ({moment}, {engine})"
        # whatever is there is whole: no object under a final name holds part of its content
        for key, data in s3.tree(out).items():
            assert key in expected and data == expected[key], (moment, engine, key)
        r = run_clean(*args)
        assert r.returncode == 0, (moment, engine, r.stderr)
        assert s3.tree(out) == expected, (moment, engine)
        assert s3.tree(out + ".report")["removed.jsonl"] == audit, (moment, engine)


def test_dask_local_cluster_reads_and_writes_the_buckets(s3, reference):
    pytest.importorskip("distributed")
    from cleaner.pipeline import clean_corpus

    src, dst = s3.bucket(), s3.bucket()
    s3.upload(reference / "in", f"s3://{src}/c")
    storage = {"endpoint_url": s3.endpoint, "key": KEY, "secret": SECRET}
    rep = clean_corpus(f"s3://{src}/c", f"s3://{dst}/o", engine="dask", workers=2, storage=storage)
    assert rep.ok, rep.errors
    assert rep.engine["name"] == "dask" and rep.engine["workers"] == 2
    assert_same_run(s3, reference / "out", f"s3://{dst}/o")


# --- refused before anything is written ------------------------------------------------------

def _nothing_written(s3: S3, *buckets: str) -> None:
    for b in buckets:
        assert s3.tree(f"s3://{b}") == {}, b


def test_unknown_protocol_is_one_line_and_exit_2(cli, s3, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    dst = s3.bucket()
    r = cli("nosuch://x/in", f"s3://{dst}/o", "--config", s3.config)
    assert r.code == 2 and r.err.count("\n") == 1 and "unknown storage protocol 'nosuch'" in r.err, r.err
    r = cli("s3:///in", f"s3://{dst}/o", "--config", s3.config)
    assert r.code == 2 and r.err.count("\n") == 1 and "no bucket" in r.err, r.err
    r = cli(SEEDS, f"s3:/{dst}/o", "--config", s3.config)  # as a local path it would be a folder "s3:" here
    assert r.code == 2 and r.err.count("\n") == 1 and "two slashes" in r.err, r.err
    _nothing_written(s3, dst)
    assert list(tmp_path.iterdir()) == []


def test_missing_input_or_output_bucket_is_refused(cli, s3, reference, tmp_path):
    src, dst = s3.bucket(), s3.bucket()
    s3.upload(reference / "in", f"s3://{src}/c")
    r = cli("s3://no-such-bucket-here/c", f"s3://{dst}/o", "--config", s3.config)
    assert r.code == 2 and r.err.count("\n") == 1 and "s3://no-such-bucket-here/c does not exist" in r.err, r.err
    r = cli(f"s3://{src}/c", "s3://no-such-bucket-here/o", "--report", f"s3://{dst}/rep", "--config", s3.config)
    assert r.code == 2 and r.err.count("\n") == 1 and "cannot write to the output folder" in r.err, r.err
    assert "bucket does not exist" in r.err
    r = cli(f"s3://{src}/c", tmp_path / "out", "--report", "s3://no-such-bucket-here/rep", "--config", s3.config)
    assert r.code == 2 and "cannot write to the report folder" in r.err, r.err
    r = cli(f"s3://{src}/c", f"s3://{dst}", "--config", s3.config)
    assert r.code == 2 and "is a whole bucket: pass --report" in r.err, r.err
    _nothing_written(s3, dst)
    assert not (tmp_path / "out").exists()


def test_no_credentials_is_refused(cli, s3, reference, tmp_path):
    src, dst = s3.bucket(), s3.bucket()
    s3.upload(reference / "in", f"s3://{src}/c")
    bare = tmp_path / "bare.toml"
    bare.write_text(f'[storage]\nendpoint_url = "{s3.endpoint}"\n')
    r = cli(f"s3://{src}/c", f"s3://{dst}/o", "--config", bare)
    assert r.code == 2 and r.err.count("\n") == 1 and "Unable to locate credentials" in r.err, r.err
    r = cli(tmp_path, f"s3://{dst}/o", "--config", bare, "--report", tmp_path.parent / "rep-nocred")
    assert r.code == 2 and "Unable to locate credentials" in r.err, r.err
    assert not (tmp_path.parent / "rep-nocred").exists()
    _nothing_written(s3, dst)


def test_file_urls_are_local_paths(cli, reference, tmp_path):
    r = cli(f"file://{reference / 'in'}", f"file://{tmp_path / 'o'}", "-q", "--workers", "0")
    assert r.code == 0, r.err
    assert tree_bytes(tmp_path / "o") == tree_bytes(reference / "out")
    shutil.rmtree(tmp_path / "o")


def test_compressed_input_keeps_the_decompression_bound(cli, s3, tmp_path):
    src, dst = s3.bucket(), s3.bucket()
    local = tmp_path / "in"
    write(local, "bomb.txt.gz", gzip.compress(b"a" * (12 << 20), mtime=0))  # ~1000x: past --max-ratio 200
    write(local, "good.txt", prose(1, 4) + "\n")
    s3.upload(local, f"s3://{src}/c")
    assert cli(local, tmp_path / "out", "-q", "--workers", "0").code == 1
    r = cli(f"s3://{src}/c", f"s3://{dst}/o", "--config", s3.config, "-q", "--workers", "0")
    assert r.code == 1 and "compression bomb" in r.err, r.err
    assert set(s3.tree(f"s3://{dst}/o")) == {"good.txt"}
    assert s3.tree(f"s3://{dst}/o") == tree_bytes(tmp_path / "out")
    assert report_of(s3.tree(f"s3://{dst}/o.report")["report.json"])["errors"] == \
        report_of((tmp_path / "out.report/report.json").read_bytes())["errors"]


def test_memory_urls_in_one_process(cli, reference):
    import fsspec

    mem = fsspec.filesystem("memory")
    base = f"/cleaner-test-{os.getpid()}"
    for p in sorted((reference / "in").rglob("*")):
        if p.is_file():
            mem.pipe_file(f"{base}/in/{p.relative_to(reference / 'in').as_posix()}", p.read_bytes())
    try:
        r = cli(f"memory://{base}/in", f"memory://{base}/out", "-q", "--workers", "0")
        assert r.code == 0, r.err
        got = {k[len(f"{base}/out/"):]: mem.cat_file(k) for k in sorted(mem.find(f"{base}/out"))}
        assert got == tree_bytes(reference / "out")
        assert mem.cat_file(f"{base}/out.report/removed.jsonl") == (reference / "out.report/removed.jsonl").read_bytes()
        assert not mem.exists(f"{base}/out.report/.work")
    finally:
        mem.rm(base, recursive=True)


def test_a_file_system_with_folders_goes_through_temp_names(cli, reference, tmp_path):
    """local:// is fsspec's local file system reached as a URL: the path of file systems that are
    not object stores (an upload under a temp name, then moved over the final one)."""
    out = tmp_path / "out"
    r = cli(f"local://{reference / 'in'}", f"local://{out}", "-q", "--workers", "2")
    assert r.code == 0, r.err
    assert tree_bytes(out) == tree_bytes(reference / "out")
    assert (tmp_path / "out.report/removed.jsonl").read_bytes() == (reference / "out.report/removed.jsonl").read_bytes()
    assert not [p for p in tmp_path.rglob("*") if ".cleaner-tmp" in p.name]


def test_large_files_read_and_joined_in_parts_from_a_bucket(cli, s3, tmp_path, monkeypatch):
    import pyarrow as pa
    import pyarrow.parquet as pq

    import cleaner.readers

    local = tmp_path / "in"
    recs = [{"id": f"r{i}", "text": "\n".join(prose(10 * (i % 30) + k, 2) for k in range(3)), "n": i}
            for i in range(120)]
    write(local, "big.jsonl", "".join(json.dumps(r) + "\n" for r in recs))
    rows = [{**r, "text": "\n".join(prose(7000 + 10 * (i % 30) + k, 2) for k in range(3))} for i, r in enumerate(recs)]
    pq.write_table(pa.Table.from_pylist(rows), local / "big.parquet", row_group_size=10)
    assert cli(local, tmp_path / "whole", "-q", "--workers", "0").code == 0
    src, dst = s3.bucket(), s3.bucket()
    s3.upload(local, f"s3://{src}/c")
    monkeypatch.setattr(cleaner.readers, "PART_BYTES", 8_000)
    monkeypatch.setattr(cleaner.readers, "PARQUET_PART_ROWS", 30)
    from cleaner import formats, storage

    storage.use({"endpoint_url": s3.endpoint, "key": KEY, "secret": SECRET})
    for name in ("big.jsonl", "big.parquet"):  # the objects are read in parts
        f = formats.input_file(name, f"s3://{src}/c/{name}")
        assert f is not None and len(formats.of(f).plan(f)) >= 3, name
    r = cli(f"s3://{src}/c", f"s3://{dst}/o", "--config", s3.config, "-q", "--workers", "2")
    assert r.code == 0, r.err
    rep = json.loads(s3.tree(f"s3://{dst}/o.report")["report.json"])
    assert rep["documents"]["read"] == 240 and rep["documents"]["removed"]
    got = s3.tree(f"s3://{dst}/o")
    assert got["big.jsonl"] == (tmp_path / "whole/big.jsonl").read_bytes()
    assert pq.read_table(pa.BufferReader(got["big.parquet"])).equals(pq.read_table(tmp_path / "whole/big.parquet"))
    assert s3.tree(f"s3://{dst}/o.report")["removed.jsonl"] == (tmp_path / "whole.report/removed.jsonl").read_bytes()
