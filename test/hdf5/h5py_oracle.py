"""The h5py side of the HDF5 tests (Debian's /usr/bin/python3, h5py 3.7).

  write DIR        write the test files into DIR: scan.h5 (every kind of thing an HDF5 file holds,
                   including types dosna cannot store), scan-latest.h5 (the same with libver
                   "latest": version 2 object headers), plain.h5 (only what dosna stores),
                   big.h5 (one dataset many chunks big) and big-strings.h5 (one string dataset
                   many chunks big)
  dump FILE DIR    describe FILE as DIR/dump.json (groups, datasets with dtype, shape, chunks,
                   compression, fill value and attributes) and every numeric dataset as
                   DIR/<path with / as __>.npy: float16 as float32 (exact), complex as its float
                   parts with a last axis of 2 (re, im: dosna's in-memory layout); the values of
                   string datasets go into dump.json ("strings", flat, C order, via asstr())

Attribute values in dump.json are JSON as dosna stores them: numpy's tolist(), bytes decoded,
complex as [re, im], NaN and infinities as "NaN", "Infinity", "-Infinity", integers beyond 2**53
as decimal strings; types JSON cannot hold as {"unsupported": str}.
"""
import json
import math
import os
import sys

import h5py
import numpy as np


def write_scan(path, libver):
    with h5py.File(path, "w", libver=libver) as f:
        f.attrs["title"] = "scan 42"
        f.attrs["count"] = np.int64(7)
        f.attrs["big"] = np.uint64(2**63 + 5)
        f.attrs["ratio"] = np.float32(0.25)
        f.attrs["matrix"] = np.arange(6, dtype="i2").reshape(2, 3)
        f.attrs["flag"] = True
        f.attrs["missing"] = np.nan
        f.attrs["limits"] = np.array([-np.inf, 1.5, np.inf])
        f.attrs["names"] = np.array([b"x", b"yz"])
        f.attrs["labels"] = ["alpha", "beta"]
        f.attrs["point"] = np.array((1, 2.5), dtype=[("i", "i4"), ("f", "f8")])

        numeric = f.create_group("numeric")
        for i, dt in enumerate(["i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8", "f4", "f8"]):
            data = (np.arange(24) * (i + 1) - 5).astype(dt).reshape(4, 6)
            numeric.create_dataset(dt, data=data)
        numeric.create_dataset("u8_big", data=np.array([2**64 - 1, 2**63, 1], dtype="u8"))
        numeric.create_dataset("i8_big", data=np.array([-(2**63), 2**63 - 1, -1], dtype="i8"))
        numeric.create_dataset("bool", data=np.array([[True, False, True], [False, False, True]]))
        numeric.create_dataset("be_i4", data=np.arange(-3, 9, dtype=">i4").reshape(3, 4))
        numeric.create_dataset("be_f8", data=np.linspace(-1, 1, 7).astype(">f8"))

        layout = f.create_group("layout/deep/er")
        layout.attrs["level"] = 3
        g = f["layout"]
        g.create_dataset("gzip", data=np.arange(600, dtype="f4").reshape(20, 30), chunks=(7, 8), compression="gzip", compression_opts=6)
        g.create_dataset("gzip_shuffle", data=np.arange(300, dtype="i4").reshape(10, 30) % 17, chunks=(4, 30), compression="gzip", shuffle=True)
        g.create_dataset("contiguous", data=np.arange(35, dtype="u2").reshape(5, 7))
        g.create_dataset("ragged", data=np.arange(11 * 13 * 5, dtype="f8").reshape(11, 13, 5), chunks=(4, 5, 3))
        sparse = g.create_dataset("sparse_fill", shape=(9, 10), dtype="i2", chunks=(3, 4), fillvalue=-7)
        sparse[0:3, 0:4] = 5
        sparse[8, 9] = 9
        nanfill = g.create_dataset("nan_fill", shape=(6,), dtype="f4", chunks=(2,), fillvalue=np.nan)
        nanfill[2:4] = [1.5, 2.5]
        g.create_dataset("bool_fill", shape=(5,), dtype=bool, chunks=(2,), fillvalue=True)
        g.create_dataset("scalar", data=np.float64(3.25))
        g.create_dataset("scalar_int", data=np.int16(-12))
        g.create_dataset("empty", shape=(0, 4), dtype="i4", chunks=(2, 4), maxshape=(None, 4))
        d = g.create_dataset("with_attrs", data=np.ones((2, 2), dtype="f4"))
        d.attrs["units"] = "m/s"
        d.attrs["scale"] = np.float64(1e-3)
        d.attrs["offsets"] = np.array([1, 2, 3], dtype="u1")
        d.attrs["ref"] = f["numeric"].ref
        d.dims[0].label = "y"
        d.dims[1].label = "x"

        write_types(f.create_group("types"))

        odd = f.create_group("unsupported")
        odd.create_dataset("compound", data=np.array([(1, 2.0), (3, 4.0)], dtype=[("a", "i4"), ("b", "f8")]))
        odd.create_dataset("complex_like", data=np.zeros(3, dtype=[("r", "f4"), ("i", "f8")]))
        odd.create_dataset("enum", data=np.array([0, 1, 1], dtype="u1"), dtype=h5py.enum_dtype({"RED": 0, "GREEN": 1}, basetype="u1"))
        odd.create_dataset("reference", data=[f["numeric"].ref, f["layout"].ref], dtype=h5py.ref_dtype)
        odd.create_dataset("vlen", data=[np.arange(2), np.arange(3)], dtype=h5py.vlen_dtype("i4"))
        odd.create_dataset("lzf", data=np.arange(40, dtype="f4"), chunks=(10,), compression="lzf")  # no lzf filter in h5wasm
        odd["soft"] = h5py.SoftLink("/layout/gzip")
        odd["missing"] = h5py.SoftLink("/does/not/exist")
        odd["external"] = h5py.ExternalLink("elsewhere.h5", "/data")


SPECIAL_HALVES = [0.0, -0.0, 1.0, -2.5, 0.1, 65504.0, -65504.0, 6e-8, 6.1e-5, np.inf, -np.inf, np.nan]


def write_types(g):
    """float16, complex and strings: what dosna stores since it has those data types."""
    g.attrs["z"] = np.complex128(1.5 - 2j)
    g.attrs["zs"] = np.array([1 + 2j, np.nan - np.inf * 1j], dtype="c8")
    g.attrs["half"] = np.float16(0.1)
    g.attrs["halves"] = np.array([1.5, -np.inf, 6e-8], dtype="f2")
    g.attrs["fixed"] = np.array([b"ab", b"cde"], dtype="S5")
    g.attrs["text"] = "ünïcode ✓"
    halves = np.array(SPECIAL_HALVES * 3, dtype="f2").reshape(4, 9)
    g.create_dataset("f2", data=halves, chunks=(3, 4), compression="gzip", shuffle=True)
    g.create_dataset("f2_be", data=np.linspace(-3, 3, 11).astype(">f2"))
    f2_fill = g.create_dataset("f2_fill", shape=(7,), dtype="f2", chunks=(2,), fillvalue=-2.5)
    f2_fill[3:5] = [7, 0.333]
    g.create_dataset("f2_scalar", data=np.float16(0.1))
    parts = np.array([1.5, -0.0, np.inf, np.nan, -1e-30, 3.25])
    c8 = np.empty((6, 6), dtype="c8")
    c8.real, c8.imag = parts[:, None], parts[None, ::-1]
    g.create_dataset("c8", data=c8, chunks=(4, 5), compression="gzip", compression_opts=3)
    g.create_dataset("c16", data=(np.arange(35).reshape(5, 7) * (0.5 - 1.25j)).astype("c16"), chunks=(2, 3))
    g.create_dataset("c16_be", data=np.array([1 + 2j, -3.5 + 0.25j, 1e300j], dtype=">c16"))
    c_fill = g.create_dataset("c8_fill", shape=(6,), dtype="c8", chunks=(2,), fillvalue=1 - 2j)
    c_fill[0] = 3j
    g.create_dataset("c_scalar", data=np.complex128(-1.5 + 0.25j))
    words = ["", "a", "bé", "日本語", "x" * 40, "tab\tnew\nline", "🙂"]
    g.create_dataset("vstr", data=words, dtype=h5py.string_dtype())
    grid = np.array([[f"r{i}c{j}" * (j + 1) for j in range(5)] for i in range(6)], dtype=object)
    g.create_dataset("vstr2d", data=grid, dtype=h5py.string_dtype(), chunks=(4, 2), compression="gzip", shuffle=True)
    g.create_dataset("astr", data=[b"x", b"yz", b""], dtype=h5py.string_dtype("ascii"))
    g.create_dataset("fixed", data=np.array([b"hello", b"", b"0123456789"], dtype="S10"))
    utf8 = h5py.string_dtype("utf-8", 12)
    g.create_dataset("fixed_utf8", data=np.array(["é".encode(), "日本".encode(), b"abc"], dtype=utf8))
    fixed_fill = g.create_dataset("fixed_fill", shape=(5,), dtype="S4", chunks=(2,), fillvalue=b"ab")
    fixed_fill[1] = b"xyz"
    g.create_dataset("str_scalar", data="scalar é", dtype=h5py.string_dtype())


def write_plain(path):
    with h5py.File(path, "w") as f:
        f.attrs["about"] = "plain"
        f.create_dataset("a", data=np.arange(20, dtype="i4").reshape(4, 5), chunks=(2, 5), compression="gzip")
        g = f.create_group("g")
        g.attrs["n"] = 2
        g.create_dataset("b", data=np.linspace(0, 1, 9), chunks=(4,))


def write_big(path):
    with h5py.File(path, "w") as f:
        data = (np.arange(120 * 90, dtype="f4").reshape(120, 90) % 97) / 4
        f.create_dataset("big", data=data, chunks=(25, 20), compression="gzip", compression_opts=1)


def write_big_strings(path):
    with h5py.File(path, "w") as f:
        data = np.array([f"s{i}-" + "é" * (i % 7) for i in range(40 * 30)], dtype=object).reshape(40, 30)
        f.create_dataset("words", data=data, dtype=h5py.string_dtype(), chunks=(10, 8))


def json_value(value):
    if isinstance(value, h5py.Reference) or (isinstance(value, np.ndarray) and value.dtype.kind in "OV" and value.dtype != object):
        return {"unsupported": str(getattr(value, "dtype", "reference"))}
    if isinstance(value, np.void):
        return {"unsupported": str(value.dtype)}
    if isinstance(value, np.ndarray):
        return json_value(value.tolist())
    if isinstance(value, (list, tuple)):
        return [json_value(v) for v in value]
    if isinstance(value, bytes):
        return value.decode()
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, complex):
        return [json_value(value.real), json_value(value.imag)]
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > 2**53 - 1:
        return str(value)  # dosna keeps 64-bit integers JSON numbers cannot hold exactly as decimal strings
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    return value


def compression_of(ds):
    return {"compression": ds.compression, "compression_opts": ds.compression_opts, "shuffle": bool(ds.shuffle)}


def dump(path, out):
    os.makedirs(out, exist_ok=True)
    tree = {"groups": {}, "datasets": {}}

    def attrs_of(obj):
        result = {}
        for name in obj.attrs:
            try:
                result[name] = json_value(obj.attrs[name])
            except Exception as error:  # e.g. types h5py itself cannot read
                result[name] = {"unsupported": str(error)}
        return result

    def visit(name, obj):
        key = "/" + name
        if isinstance(obj, h5py.Group):
            tree["groups"][key] = {"attrs": attrs_of(obj)}
            return
        dt = obj.dtype
        string = h5py.check_string_dtype(dt)
        entry = {
            "dtype": dt.str,
            "kind": dt.kind,
            "shape": list(obj.shape) if obj.shape is not None else None,
            "chunks": list(obj.chunks) if obj.chunks else None,
            # (h5py 3.7 crashes reading a variable-length string dataset's fill value)
            "fillvalue": json_value(obj.fillvalue) if dt.kind in "biufc" or (string and string.length) else None,
            "attrs": attrs_of(obj),
            "dims": [d.label for d in obj.dims] if obj.shape else [],
            **compression_of(obj),
        }
        is_bool_enum = h5py.check_enum_dtype(dt) == {"FALSE": 0, "TRUE": 1}
        npy = name.replace("/", "__") + ".npy"
        if dt.kind in "biuf" and h5py.check_enum_dtype(dt) is None or is_bool_enum or dt.kind == "b":
            values = obj[()]
            np.save(os.path.join(out, npy), values.astype("<f4") if dt.kind == "f" and dt.itemsize == 2 else values)
            entry["npy"] = npy
        elif dt.kind == "c":
            np.save(os.path.join(out, npy), np.ascontiguousarray(obj[()], dtype=dt.newbyteorder("<")).view(f"<f{dt.itemsize // 2}").reshape(*obj.shape, 2))
            entry["npy"] = npy
        elif string is not None and obj.shape is not None:
            entry["string"] = {"encoding": string.encoding, "length": string.length}
            entry["strings"] = np.asarray(obj.asstr()[()], dtype=object).reshape(-1).tolist()
        tree["datasets"][key] = entry

    with h5py.File(path, "r") as f:
        f.visititems(visit)
        tree["groups"]["/"] = {"attrs": attrs_of(f)}
    with open(os.path.join(out, "dump.json"), "w") as fh:
        json.dump(tree, fh, indent=1)


if __name__ == "__main__":
    command = sys.argv[1]
    if command == "write":
        out = sys.argv[2]
        os.makedirs(out, exist_ok=True)
        write_scan(os.path.join(out, "scan.h5"), "earliest")
        write_scan(os.path.join(out, "scan-latest.h5"), "latest")
        write_plain(os.path.join(out, "plain.h5"))
        write_big(os.path.join(out, "big.h5"))
        write_big_strings(os.path.join(out, "big-strings.h5"))
    elif command == "dump":
        dump(sys.argv[2], sys.argv[3])
    else:
        raise SystemExit(f"unknown command {command}")
