/**
 * ONNX models as chunk functions: `dn.registerFunction("embed", dn.onnxFunction("model.onnx", {
 * input: "x", output: "y" }))`. The model runs with onnxruntime-node (CPU) on each chunk as one
 * float32 tensor of the chunk's shape; its output must have the output chunk's shape. The session
 * is created once per process (or thread) on first use.
 */
import { access } from "node:fs/promises";
import { resolve } from "node:path";
import ndarray, { type NdArray } from "ndarray";
import ops from "ndarray-ops";
import { ComputeError, DtypeError, NotFoundError, ShapeError, ValidationError } from "../errors.js";
import type { TypedArray } from "../format/index.js";
import type { RegisteredFunction } from "./registry.js";

export interface OnnxFunctionOptions {
  /** Input name of the model (default: its first input). */
  input?: string;
  /** Output name (default: its first output). */
  output?: string;
}

type OrtModule = typeof import("onnxruntime-node");
type Session = Awaited<ReturnType<OrtModule["InferenceSession"]["create"]>>;

let runtime: Promise<OrtModule> | undefined;

function onnxRuntime(file: string): Promise<OrtModule> {
  runtime ??= import("onnxruntime-node").catch((error: unknown) => {
    runtime = undefined;
    throw new ComputeError(`running the ONNX model "${file}" needs the package onnxruntime-node: npm install onnxruntime-node (${(error as Error).message.split("\n")[0]})`, { cause: error });
  });
  return runtime;
}

export function onnxFunction(modelPath: string, options: OnnxFunctionOptions = {}): RegisteredFunction {
  const file = resolve(modelPath);
  let session: Promise<Session> | undefined;
  const open = () => (session ??= createSession(file).catch((error: unknown) => {
    session = undefined;
    throw error;
  }));
  return async (chunk: NdArray<TypedArray>) => {
    const s = await open();
    const ort = await onnxRuntime(file);
    const input = options.input ?? s.inputNames[0];
    const output = options.output ?? s.outputNames[0];
    if (!s.inputNames.includes(input)) throw new ValidationError(`ONNX model "${file}" has no input "${input}" (inputs: ${s.inputNames.join(", ")})`);
    if (!s.outputNames.includes(output)) throw new ValidationError(`ONNX model "${file}" has no output "${output}" (outputs: ${s.outputNames.join(", ")})`);
    if (!(chunk.data instanceof Float32Array)) throw new DtypeError(`ONNX model "${file}" runs on float32 chunks, got ${chunk.data.constructor.name}`);
    const data = denseFloat32(chunk as NdArray<Float32Array>);
    let result;
    try {
      result = await s.run({ [input]: new ort.Tensor("float32", data, [...chunk.shape]) });
    } catch (error) {
      const expected = (s as unknown as { inputMetadata?: Array<{ name: string; shape?: unknown[] }> }).inputMetadata?.find((m) => m.name === input)?.shape;
      throw new ShapeError(
        `ONNX model "${file}" refused a chunk of shape [${chunk.shape}] for input "${input}"${expected ? ` (the model expects [${expected.join(", ")}])` : ""}: ${String((error as Error).message).split("\n")[0]}`,
      );
    }
    const tensor = result[output];
    const values = tensor.data;
    if (!(values instanceof Float32Array)) throw new DtypeError(`ONNX model "${file}" output "${output}" is ${tensor.type}, not float32`);
    return values;
  };
}

/** The chunk's elements in C order: its own array when it is one already, else a copy. */
function denseFloat32(chunk: NdArray<Float32Array>): Float32Array {
  let step = 1;
  let dense = chunk.offset === 0 && chunk.data.length === chunk.size;
  for (let a = chunk.shape.length - 1; a >= 0 && dense; a--) {
    if (chunk.shape[a] > 1 && chunk.stride[a] !== step) dense = false;
    step *= chunk.shape[a];
  }
  if (dense) return chunk.data;
  const copy = ndarray(new Float32Array(chunk.size), [...chunk.shape]);
  ops.assign(copy, chunk);
  return copy.data;
}

async function createSession(file: string): Promise<Session> {
  try {
    await access(file);
  } catch {
    throw new NotFoundError(`ONNX model "${file}" does not exist`);
  }
  const ort = await onnxRuntime(file);
  try {
    return await ort.InferenceSession.create(file);
  } catch (error) {
    throw new ValidationError(`"${file}" is not an ONNX model onnxruntime can load: ${String((error as Error).message).split("\n")[0]}`);
  }
}
