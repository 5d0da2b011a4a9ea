/**
 * h5wasm's Node build: the HDF5 C library compiled to WebAssembly, reading and writing files
 * through the real filesystem (so files larger than memory work). Loaded on first use only, so
 * importing dosna costs nothing for programs that never touch an HDF5 file.
 *
 * While dosna uses it, HDF5 errors throw (h5wasm's throwing error handler): by default a failed
 * read only prints HDF5-DIAG lines and returns zeros, which an import would store as data.
 */
import type * as H5 from "h5wasm/node";

export type H5Module = typeof H5;

let loading: Promise<H5Module> | undefined;
let users = 0;

function load(): Promise<H5Module> {
  loading ??= import("h5wasm/node").then(async (module) => {
    await module.ready;
    return module;
  });
  return loading;
}

/** h5wasm with throwing errors until `release` (the handler goes back when the last user releases). */
export async function useH5wasm(): Promise<{ h5: H5Module; release: () => void }> {
  const h5 = await load();
  if (users++ === 0) h5.Module.activate_throwing_error_handler();
  let released = false;
  return {
    h5,
    release: () => {
      if (released) return;
      released = true;
      if (--users === 0) h5.Module.deactivate_throwing_error_handler();
    },
  };
}

/** The telling line of an HDF5 error stack ("required filter 'lzf' is not registered"), else its first line. */
export function summariseHdf5Error(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  const messages = [...text.matchAll(/#\d+: .* in [\w.]+\(\): (.*)$/gm)].map((m) => m[1].trim());
  const telling = messages.find((m) => /filter/i.test(m) && !/pipeline/i.test(m)) ?? messages.at(-1);
  return telling ?? text.split("\n")[0];
}
