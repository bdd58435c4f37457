"""What a compressed model costs and scores, counted on the file that is deployed: the TFLite flatbuffer.

    compress.report(model, (x_test, y_test))                  # a Keras model: converted to float TFLite first
    compress.report("student.tflite", (x_test, y_test))      # a file handed in
    compress.score(entry, baseline_entry)                    # the challenge's number, lower is better

Counting on the converted file makes one rule for every submission: batch norm is folded into the convolutions the
way the converter folds it, a quantized model is counted at its integer widths, and nothing the file does not hold
is counted. The fields:

- params: elements of the weight tensors (kernels, biases, constant vectors such as unfolded batch norm);
  shape constants are not parameters. nonzero_params: those that are not zero.
- storage_bits: each weight tensor at its bit width (float32 32, int8 8, int32 biases 32; `weight_bits=4` counts
  int8 kernels at 4, for a model quantized to 4 bits that TFLite stores as int8), and a tensor with zeros as its
  non-zeros plus a 1-bit mask when that is smaller (the MicroNet challenge's rule, Gale et al. 2019).
- macs: multiply-accumulates of the convolutions and fully connected layers for one image (output positions x
  kernel elements), channel pruning and factorization counted as they are; sparse_macs: skipping zero weights.
- bit_macs: sparse_macs with each multiply weighted by its kernel's bits / 32 (MicroNet's rule for low-bit math).
- tflite_bytes, tflite_gzip_bytes: the file, and the file gzip'd at level 9 (zeros compress; that is where pruning
  shows in a download).
- latency_ms: median of `latency_runs` single-image calls on one thread (XNNPACK, as the interpreter runs it).
- test_accuracy: the TFLite model's top-1 accuracy on the test data, when given.

score = storage_bits / dense storage_bits + bit_macs / dense bit_macs: 2.0 for the dense model itself.
"""

from __future__ import annotations

import gzip
import os
import statistics
import time
from typing import TYPE_CHECKING

import numpy as np

from keras_course import _private

if TYPE_CHECKING:
    import keras
    import tensorflow as tf

__all__ = ["FIELDS", "WEIGHTED_OPS", "load_flatbuffer", "report", "score", "tflite_counts"]

FIELDS = ("test_accuracy", "params", "nonzero_params", "storage_bits", "macs", "sparse_macs", "bit_macs",
          "tflite_bytes", "tflite_gzip_bytes", "latency_ms")
# TFLite ops that multiply by a weight tensor (input 1), and how many leading axes of that tensor are output
# positions' worth of nothing: each output element costs the kernel's elements / output channels MACs.
WEIGHTED_OPS = ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "CONV_3D", "TRANSPOSE_CONV")
_BITS = {np.dtype("float32"): 32, np.dtype("float16"): 16, np.dtype("int8"): 8, np.dtype("uint8"): 8,
         np.dtype("int16"): 16, np.dtype("int32"): 32, np.dtype("int64"): 64}
LATENCY_RUNS = 200
MAX_FLATBUFFER_BYTES = 2 ** 31  # TFLite's own limit on a flatbuffer


def _interpreter(flatbuffer, threads=1):
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_content=flatbuffer, num_threads=threads)
    interpreter.allocate_tensors()
    return interpreter


def load_flatbuffer(path: str | os.PathLike) -> bytes:
    """The bytes of a .tflite file, checked to be one (ValueError naming the path otherwise)."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise ValueError(f"path={path!r} is not a file; pass a .tflite or .keras file.")
    if os.path.getsize(path) > MAX_FLATBUFFER_BYTES:
        raise ValueError(f"path={path!r} is larger than a TFLite flatbuffer can be (2 GiB).")
    with open(path, "rb") as f:
        flatbuffer = f.read()
    if len(flatbuffer) < 8 or flatbuffer[4:8] != b"TFL3":
        raise ValueError(f"path={path!r} is not a TFLite flatbuffer (no TFL3 identifier); pass a .tflite file "
                         "written by the TFLite converter.")
    try:
        _interpreter(flatbuffer)
    except (ValueError, RuntimeError) as error:
        raise ValueError(f"path={path!r} could not be loaded by the TFLite interpreter: "
                         f"{' '.join(str(error).split())[:200]}") from None
    return flatbuffer


def _tensor_bits(values, bits):
    """Storage of one tensor: dense, or its non-zeros plus a 1-bit mask when that is smaller."""
    dense = values.size * bits
    return int(min(dense, np.count_nonzero(values) * bits + values.size))


def _operands(op):
    """(kernel index, bias index or -1, index of the tensor whose positions each use the whole kernel)."""
    inputs = [int(i) for i in op["inputs"]]
    if op["op_name"] == "TRANSPOSE_CONV":  # (output shape, weights, input, bias): each input position scatters it
        return inputs[1], inputs[3] if len(inputs) > 3 else -1, inputs[2]
    return inputs[1], inputs[2] if len(inputs) > 2 else -1, int(op["outputs"][0])


def tflite_counts(flatbuffer: bytes, *, weight_bits: int | None = None) -> dict:
    """params, nonzero_params, storage_bits, macs, sparse_macs and bit_macs of a TFLite flatbuffer (module doc)."""
    interpreter = _interpreter(flatbuffer)
    ops = _private.tflite_ops(interpreter)
    tensors = {t["index"]: t for t in interpreter.get_tensor_details()}
    produced = {int(i) for op in ops for i in op["outputs"]} | {d["index"] for d in interpreter.get_input_details()}
    weighted = [(op, *_operands(op)) for op in ops if op["op_name"] in WEIGHTED_OPS]
    kernels = {kernel for _, kernel, _, _ in weighted}
    biases = {bias for _, _, bias, _ in weighted}

    def bits_of(index):
        dtype = np.dtype(tensors[index]["dtype"])
        return weight_bits if weight_bits and index in kernels and dtype.itemsize == 1 else _BITS.get(dtype, 32)

    counted, params, nonzero, storage = set(), 0, 0, 0
    for op in ops:
        for index in map(int, op["inputs"]):
            if index < 0 or index in produced or index in counted:
                continue
            if np.dtype(tensors[index]["dtype"]) == np.int32 and index not in biases:
                continue  # shapes, axes, slice bounds: not parameters
            counted.add(index)
            values = interpreter.get_tensor(index)
            params += values.size
            nonzero += int(np.count_nonzero(values))
            storage += _tensor_bits(values, bits_of(index))
    macs = sparse = bit_macs = 0
    for op, kernel, _, positions_of in weighted:
        positions = int(np.prod(tensors[positions_of]["shape"][:-1]))  # batch 1: every element but the channels
        if kernel in produced:  # a weight computed at run time (a float16 model's dequantized kernel): dense
            size = nonzero_size = int(np.prod(tensors[kernel]["shape"]))
            bits = 32
        else:
            values = interpreter.get_tensor(kernel)
            size, nonzero_size, bits = values.size, int(np.count_nonzero(values)), bits_of(kernel)
        macs += positions * size
        sparse += positions * nonzero_size
        bit_macs += positions * nonzero_size * bits / 32
    return dict(params=int(params), nonzero_params=int(nonzero), storage_bits=int(storage), macs=int(macs),
                sparse_macs=int(sparse), bit_macs=int(round(bit_macs)))


def tflite_latency_ms(flatbuffer: bytes, image: np.ndarray, runs: int = LATENCY_RUNS) -> float:
    """Median milliseconds of one call on one image, one thread, after 5 warm-up calls."""
    interpreter = _interpreter(flatbuffer)
    runner = interpreter.get_signature_runner("serving_default")
    ((name, spec),) = runner.get_input_details().items()
    batch = np.asarray(image, dtype=spec["dtype"])[None]
    for _ in range(5):
        runner(**{name: batch})
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        runner(**{name: batch})
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def tflite_predictions(flatbuffer: bytes, x: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """The TFLite model's outputs on `x` (a quantized output scaled back), in batches."""
    from keras_course.export.runtimes import TFLiteRuntime

    runtime = TFLiteRuntime(content=flatbuffer)
    return np.concatenate([runtime.predict(x[i:i + batch_size]) for i in range(0, len(x), batch_size)])


def _as_arrays(test_data):
    if test_data is None:
        return None, None
    if isinstance(test_data, tuple) and len(test_data) == 2:
        return np.asarray(test_data[0]), np.asarray(test_data[1])
    from keras_course import data

    return data.to_numpy(test_data)


def report(model: keras.Model | str | os.PathLike | bytes, test_data: tuple | tf.data.Dataset | None = None, *,
           int8: bool = False, representative_data: np.ndarray | None = None, weight_bits: int | None = None,
           latency_runs: int = LATENCY_RUNS) -> dict:
    """The fields of FIELDS for `model`: a keras.Model (converted to TFLite: float, or full-integer int8 with
    `int8` and `representative_data`), a .keras or .tflite path, or a flatbuffer's bytes.

    Args:
        test_data: (x, y) arrays or an unbatched tf.data.Dataset of raw test examples; None: no accuracy (and the
            latency is timed on a zero image).
        weight_bits: count int8 kernels at this many bits (4 for a model quantized to 4 bits; see the module doc).
        latency_runs: single-image calls whose median is the latency.
    """
    x, y = _as_arrays(test_data)
    flatbuffer = to_flatbuffer(model, int8=int8, representative_data=representative_data)
    entry = tflite_counts(flatbuffer, weight_bits=weight_bits)
    entry["tflite_bytes"] = len(flatbuffer)
    entry["tflite_gzip_bytes"] = len(gzip.compress(flatbuffer, compresslevel=9, mtime=0))
    image = x[0] if x is not None else np.zeros(_input_shape(flatbuffer), "float32")
    entry["latency_ms"] = round(tflite_latency_ms(flatbuffer, image, latency_runs), 4)
    entry["test_accuracy"] = None
    if x is not None:
        outputs = tflite_predictions(flatbuffer, x)
        predicted = (outputs[:, 0] > 0.5).astype(int) if outputs.shape[1] == 1 else outputs.argmax(axis=1)
        entry["test_accuracy"] = float(np.mean(predicted == y.reshape(-1)))
    return {field: entry[field] for field in FIELDS}


def _input_shape(flatbuffer):
    runner = _interpreter(flatbuffer).get_signature_runner("serving_default")
    ((_, spec),) = runner.get_input_details().items()
    return tuple(int(d) for d in spec["shape"][1:])


def to_flatbuffer(model: keras.Model | str | os.PathLike | bytes, *, int8: bool = False,
                  representative_data: np.ndarray | None = None) -> bytes:
    """`model` as TFLite bytes: a keras.Model or .keras file converted (float, or int8), a .tflite file read."""
    import keras

    if isinstance(model, (bytes, bytearray)):
        return bytes(model)
    if isinstance(model, (str, os.PathLike)):
        path = os.fspath(model)
        model = read_model(path)
        if isinstance(model, bytes):
            return model
    if not isinstance(model, keras.Model):
        raise ValueError(f"`model` must be a keras.Model, a .keras or .tflite path, or TFLite bytes. Received: "
                         f"{type(model).__name__}")
    from keras_course import export
    from keras_course.compress.pruning import strip

    return export.to_tflite(export.inference_model(strip(model)), int8=int8, representative_data=representative_data)


def read_model(path: str | os.PathLike) -> keras.Model | bytes:
    """A model handed in: a .keras file (loaded safely) as a keras.Model, a .tflite file as its bytes; ValueError
    naming the path for anything else."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise ValueError(f"path={path!r} is not a file; pass a .keras or .tflite file.")
    if os.path.getsize(path) > MAX_FLATBUFFER_BYTES:
        raise ValueError(f"path={path!r} is larger than 2 GiB, more than any model this course scores.")
    suffix = os.path.splitext(path)[1].lower()
    if suffix == ".tflite":
        return load_flatbuffer(path)
    if suffix == ".keras":
        return load_keras(path)
    raise ValueError(f"path={path!r} has suffix {suffix!r}; pass a .keras or .tflite file.")


def input_shape_of(model: keras.Model | bytes) -> tuple:
    """The input shape (without the batch) of a keras.Model or a TFLite flatbuffer."""
    if isinstance(model, (bytes, bytearray)):
        return _input_shape(bytes(model))
    return tuple(model.inputs[0].shape[1:])


def load_keras(path: str | os.PathLike) -> keras.Model:
    """A .keras file handed in, loaded safely (no code runs from it); ValueError naming the path if it is not one."""
    import zipfile

    import keras

    import keras_course.compress  # noqa: F401  (our layers, registered on import)
    import keras_course.models  # noqa: F401
    import keras_course.training  # noqa: F401

    path = os.fspath(path)
    if not zipfile.is_zipfile(path):
        raise ValueError(f"path={path!r} is not a .keras file (not a zip archive).")
    try:
        return keras.models.load_model(path, safe_mode=True, compile=False)
    except Exception as error:  # a hostile or damaged file may fail anywhere inside Keras
        raise ValueError(f"path={path!r} could not be loaded as a Keras model: "
                         f"{' '.join(str(error).split())[:200]}") from None


def score(entry: dict, baseline: dict) -> float:
    """storage_bits / baseline storage_bits + bit_macs / baseline bit_macs (lower is better; the baseline is 2)."""
    for name in ("storage_bits", "bit_macs"):
        if not baseline.get(name):
            raise ValueError(f"The baseline's {name} must be a positive count. Received: {baseline.get(name)!r}")
    return entry["storage_bits"] / baseline["storage_bits"] + entry["bit_macs"] / baseline["bit_macs"]
