/**
 * `dn.registerCodec`: users' own codecs, for arrays that name them in zarr.json (written by other
 * tools, or by dosna on an array whose zarr.json lists them). The definition is checked here, at
 * the boundary; a built-in codec is not replaced unless asked.
 */
import { z } from "zod";
import { ValidationError } from "../../errors.js";
import { codecDefinition, registerCodec as register, type CodecDefinition } from "./registry.js";

const definitionSchema = z.object({
  name: z.string().regex(/^[A-Za-z0-9_.:-]{1,128}$/, "a codec name of letters, digits and _ . : - (e.g. \"numcodecs.delta\")"),
  kind: z.enum(["array_to_array", "array_to_bytes", "bytes_to_bytes"]),
  create: z.custom<CodecDefinition["create"]>((v) => typeof v === "function", { message: "create must be a function (configuration, context) => codec" }),
});

/** Names registered through registerUserCodec (the others are dosna's own). */
const userCodecs = new Set<string>();

/** Register `definition` (a user codec); `replace: true` lets it take the place of a codec of the same name. */
export function registerUserCodec(definition: CodecDefinition, options: { replace?: boolean } = {}): void {
  const parsed = definitionSchema.safeParse(definition);
  if (!parsed.success) {
    throw new ValidationError(`registerCodec: ${parsed.error.issues.map((i) => `${i.path.join(".") || "definition"}: ${i.message}`).join("; ")}`);
  }
  const existing = codecDefinition(definition.name);
  if (existing && !options.replace) {
    throw new ValidationError(`registerCodec: a codec "${definition.name}" is already registered${userCodecs.has(definition.name) ? "" : " (built in)"}; pass { replace: true } to replace it`);
  }
  const create = definition.create;
  register({
    name: definition.name,
    kind: definition.kind,
    // The codec's kind must be the one declared: the pipeline orders codecs by it.
    create: (configuration, context) => {
      const codec = create(configuration, context);
      if (!codec || codec.kind !== definition.kind) throw new ValidationError(`codec "${definition.name}" was registered as ${definition.kind} but its create() returned ${codec ? codec.kind : String(codec)}`);
      return codec;
    },
  });
  userCodecs.add(definition.name);
}
