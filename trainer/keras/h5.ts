/**
 * h5wasm, loaded on first use: only `.keras` runs need it, and its module (an embedded wasm binary) costs
 * hundreds of MB of RSS when loaded through tsx.
 */
export type H5 = typeof import('h5wasm/node')['default'];

let loading: Promise<H5> | undefined;

export function loadH5(): Promise<H5> {
  loading ??= import('h5wasm/node').then(async (m) => {
    await m.default.ready;
    return m.default;
  });
  return loading;
}
