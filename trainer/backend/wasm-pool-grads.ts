/**
 * A correct MaxPool gradient for the wasm backend.
 *
 * Why: tfjs-backend-wasm 4.22's `MaxPoolGrad` (and `MaxPoolWithArgmax`) start the running maximum at the
 * smallest *positive* float instead of −∞, so a pooling window whose values are all negative routes its
 * gradient to the wrong element (or nowhere). Measured: on a 4×4 input with all-negative 2×2 windows the wasm
 * gradient put 1 on element 0 where the cpu backend puts it on the true maximum; in a Conv2D → MaxPooling2D
 * model without ReLU, 87 of 1536 input gradients differed. Models with ReLU before pooling hide the bug
 * (all-zero windows get zero gradient anyway), linear/tanh convolutions do not.
 *
 * This kernel reads the wasm heap directly and mirrors the cpu backend's semantics: the first maximum in
 * row-major window order wins, padded positions never win, overlapping windows accumulate. The forward
 * MaxPool (XNNPACK) is correct and stays as is; its output tells which value each window's winner has.
 */
import {
  backend_util,
  getKernel,
  registerKernel,
  unregisterKernel,
  type KernelConfig,
  type KernelFunc,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

const maxPoolGrad: KernelFunc = ({ inputs, backend, attrs }) => {
  const { dy, input, output } = inputs as { dy: TensorInfo; input: TensorInfo; output: TensorInfo };
  const a = attrs as unknown as {
    filterSize: [number, number] | number;
    strides: [number, number] | number;
    pad: Parameters<typeof backend_util.computePool2DInfo>[4];
    dimRoundingMode?: Parameters<typeof backend_util.computePool2DInfo>[5];
  };
  if (input.dtype !== 'float32') throw new Error(`MaxPoolGrad on wasm supports float32 only, got ${input.dtype}`);
  const info = backend_util.computePool2DInfo(
    input.shape as [number, number, number, number],
    a.filterSize,
    a.strides,
    1,
    a.pad,
    a.dimRoundingMode,
  );
  const { batchSize, inHeight: H, inWidth: W, inChannels: C, outHeight: OH, outWidth: OW } = info;
  const { strideHeight: sh, strideWidth: sw, effectiveFilterHeight: fh, effectiveFilterWidth: fw } = info;
  const { top, left } = info.padInfo;
  if (output.shape.join() !== [batchSize, OH, OW, C].join()) {
    throw new Error(
      `MaxPoolGrad on wasm: output shape [${output.shape.join(',')}] does not match [${[batchSize, OH, OW, C].join(',')}]`,
    );
  }

  const wasm = backend as BackendWasm;
  const out = wasm.makeOutput(input.shape, 'float32');
  // Views are taken after makeOutput: allocating may grow (and detach) the wasm heap.
  const x = wasm.typedArrayFromHeap(input) as Float32Array;
  const y = wasm.typedArrayFromHeap(output) as Float32Array;
  const g = wasm.typedArrayFromHeap(dy) as Float32Array;
  const dx = wasm.typedArrayFromHeap(out) as Float32Array;
  dx.fill(0);

  // The forward output holds each window's maximum (max is exact), so the winner is the first element in
  // row-major window order equal to it — the cpu backend's rule — found without tracking a running maximum.
  for (let b = 0; b < batchSize; b++) {
    for (let oh = 0; oh < OH; oh++) {
      const h0 = oh * sh - top;
      const r0 = Math.max(0, h0);
      const r1 = Math.min(H, h0 + fh);
      for (let ow = 0; ow < OW; ow++) {
        const w0 = ow * sw - left;
        const c0 = Math.max(0, w0);
        const c1 = Math.min(W, w0 + fw);
        const yBase = ((b * OH + oh) * OW + ow) * C;
        for (let c = 0; c < C; c++) {
          const max = y[yBase + c] as number;
          let found = -1;
          search: for (let r = r0; r < r1; r++) {
            let idx = ((b * H + r) * W + c0) * C + c;
            for (let col = c0; col < c1; col++, idx += C) {
              if (x[idx] === max) {
                found = idx;
                break search;
              }
            }
          }
          if (found >= 0) dx[found] = (dx[found] as number) + (g[yBase + c] as number);
        }
      }
    }
  }
  return out;
};

export const wasmMaxPoolGradConfig: KernelConfig = {
  kernelName: 'MaxPoolGrad',
  backendName: 'wasm',
  kernelFunc: maxPoolGrad,
};

let registered = false;

/** Replaces wasm's MaxPoolGrad with the correct one above. Idempotent. */
export function registerWasmPoolGradients(): void {
  if (registered) return;
  if (getKernel(wasmMaxPoolGradConfig.kernelName, 'wasm')) unregisterKernel(wasmMaxPoolGradConfig.kernelName, 'wasm');
  registerKernel(wasmMaxPoolGradConfig);
  registered = true;
}
