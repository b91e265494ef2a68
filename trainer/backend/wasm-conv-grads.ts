/**
 * Conv2D gradients for the wasm backend, built only from forward kernels that wasm runs fast (XNNPACK
 * Conv2D, Transpose, Reverse, PadV2, Slice).
 *
 * Why: tfjs-backend-wasm 4.22 has no `Conv2DBackpropFilter` kernel at all (CNN training throws "Kernel
 * 'Conv2DBackpropFilter' not registered for backend 'wasm'"), and its `Conv2DBackpropInput` is a plain
 * loop. Both gradients of a convolution are themselves convolutions (NHWC, x [N,H,W,Ci], W [kh,kw,Ci,Co],
 * y[n,oh,ow,co] = Σ x[n, oh·sh+i−top, ow·sw+j−left, ci] · W[i,j,ci,co]):
 *
 *  - dW[i,j,ci,co] = Σ_{n,oh,ow} x[n, oh·sh+i−top, ow·sw+j−left, ci] · dy[n,oh,ow,co]
 *    = conv( x → [Ci,H,W,N] as the batch-of-Ci input,  dy → [OH,OW,N,Co] as the filter,
 *            stride 1, dilation = the forward stride, explicit padding top/left ),  then → [kh,kw,Ci,Co].
 *  - dx = conv( dy with (s−1) zeros inserted between rows/columns, W flipped in space and transposed to
 *            [kh,kw,Co,Ci], stride 1, padding kh−1−top / kw−1−left ).
 *
 * Only NHWC and dilation 1 are covered (tfjs-core itself refuses gradients of dilated convolutions).
 */
import {
  backend_util,
  getKernel,
  registerKernel,
  unregisterKernel,
  type KernelBackend,
  type KernelConfig,
  type KernelFunc,
  type NamedAttrMap,
  type NamedTensorInfoMap,
  type TensorInfo,
} from '@tensorflow/tfjs-core';

const BACKEND = 'wasm';
type Shape4 = [number, number, number, number];
type Pad4 = [[number, number], [number, number], [number, number], [number, number]];

/** Runs other wasm kernels from inside a kernel and frees every intermediate it made. */
class KernelScope {
  private readonly made: TensorInfo[] = [];
  constructor(private readonly backend: KernelBackend) {}

  run(kernelName: string, inputs: NamedTensorInfoMap, attrs: NamedAttrMap): TensorInfo {
    const kernel = getKernel(kernelName, BACKEND);
    if (!kernel) throw new Error(`wasm Conv2D gradients need the wasm kernel '${kernelName}', which is not registered`);
    const out = kernel.kernelFunc({ inputs, backend: this.backend, attrs });
    if (Array.isArray(out)) throw new Error(`kernel '${kernelName}' returned several outputs`);
    this.made.push(out);
    return out;
  }

  /** Frees every intermediate except `keep` (the kernel's result, which the engine takes over). */
  finish(keep?: TensorInfo): TensorInfo | undefined {
    for (const t of this.made) if (t !== keep) this.backend.disposeData(t.dataId);
    this.made.length = 0;
    return keep;
  }
}

/** Runs `body` with a scope; intermediates are freed on success and on error alike. */
function scoped(backend: unknown, body: (s: KernelScope) => TensorInfo): TensorInfo {
  const s = new KernelScope(backend as KernelBackend);
  try {
    const out = body(s);
    s.finish(out);
    return out;
  } catch (err) {
    s.finish();
    throw err;
  }
}

interface ConvGeometry {
  strides: [number, number];
  pad: backend_util.Conv2DInfo['padInfo'];
  filter: [number, number];
  inHW: [number, number];
  outHW: [number, number];
}

function geometry(
  kernel: string,
  xShape: Shape4,
  filterShape: Shape4,
  attrs: { strides: [number, number] | number; pad: unknown; dataFormat: string; dimRoundingMode?: unknown },
): ConvGeometry {
  if (attrs.dataFormat !== 'NHWC') {
    throw new Error(`${kernel} on wasm supports dataFormat NHWC only, got '${attrs.dataFormat}'`);
  }
  const info = backend_util.computeConv2DInfo(
    xShape,
    filterShape,
    attrs.strides,
    1,
    attrs.pad as Parameters<typeof backend_util.computeConv2DInfo>[4],
    attrs.dimRoundingMode as Parameters<typeof backend_util.computeConv2DInfo>[5],
    false,
    'channelsLast',
  );
  if (info.dilationHeight !== 1 || info.dilationWidth !== 1) {
    throw new Error(`${kernel} on wasm supports dilation 1 only, got ${info.dilationHeight}x${info.dilationWidth}`);
  }
  return {
    strides: [info.strideHeight, info.strideWidth],
    pad: info.padInfo,
    filter: [info.filterHeight, info.filterWidth],
    inHW: [info.inHeight, info.inWidth],
    outHW: [info.outHeight, info.outWidth],
  };
}

function shape4(t: TensorInfo, what: string): Shape4 {
  if (t.shape.length !== 4) throw new Error(`${what} must be rank 4, got shape [${t.shape.join(',')}]`);
  return t.shape as Shape4;
}

/** Trims `t` (NHWC) to at most `rows`×`cols` spatially when a negative padding would be needed. */
function cropHW(s: KernelScope, t: TensorInfo, rows: number, cols: number): TensorInfo {
  const [n, h, w, c] = t.shape as Shape4;
  if (rows >= h && cols >= w) return t;
  return s.run('Slice', { x: t }, { begin: [0, 0, 0, 0], size: [n, Math.min(rows, h), Math.min(cols, w), c] });
}

const backpropFilter: KernelFunc = ({ inputs, backend, attrs }) => {
  const { x, dy } = inputs as { x: TensorInfo; dy: TensorInfo };
  const a = attrs as unknown as {
    strides: [number, number] | number;
    pad: unknown;
    dataFormat: string;
    dimRoundingMode?: unknown;
    filterShape: Shape4;
  };
  const g = geometry('Conv2DBackpropFilter', shape4(x, 'x'), a.filterShape, a);
  const [sh, sw] = g.strides;
  const [kh, kw] = g.filter;
  const [oh, ow] = g.outHW;
  shape4(dy, 'dy');
  return scoped(backend, (s) => {
    const xT = s.run('Transpose', { x }, { perm: [3, 1, 2, 0] }); // [Ci,H,W,N]
    const dyT = s.run('Transpose', { x: dy }, { perm: [1, 2, 0, 3] }); // [OH,OW,N,Co]
    // Rows of x the forward pass actually read; trailing rows a strided 'valid' conv never touched are cut.
    let padBottom = (oh - 1) * sh + kh - g.pad.top - g.inHW[0];
    let padRight = (ow - 1) * sw + kw - g.pad.left - g.inHW[1];
    const xIn = cropHW(s, xT, g.inHW[0] + Math.min(padBottom, 0), g.inHW[1] + Math.min(padRight, 0));
    padBottom = Math.max(padBottom, 0);
    padRight = Math.max(padRight, 0);
    const pad: Pad4 = [
      [0, 0],
      [g.pad.top, padBottom],
      [g.pad.left, padRight],
      [0, 0],
    ];
    const dw = s.run(
      'Conv2D',
      { x: xIn, filter: dyT },
      { strides: [1, 1], dilations: [sh, sw], pad, dataFormat: 'NHWC' },
    );
    return s.run('Transpose', { x: dw }, { perm: [1, 2, 0, 3] }); // [kh,kw,Ci,Co]
  });
};

/** Inserts (s−1) zeros after every row/column of dy (NHWC): the "fractionally strided" input of dx. */
function dilateDy(s: KernelScope, dy: TensorInfo, sh: number, sw: number): TensorInfo {
  if (sh === 1 && sw === 1) return dy;
  const [n, oh, ow, c] = dy.shape as Shape4;
  const r = s.run('Reshape', { x: dy }, { shape: [n, oh, 1, ow, 1, c] });
  const p = s.run(
    'PadV2',
    { x: r },
    {
      paddings: [
        [0, 0],
        [0, 0],
        [0, sh - 1],
        [0, 0],
        [0, sw - 1],
        [0, 0],
      ],
      constantValue: 0,
    },
  );
  return s.run('Reshape', { x: p }, { shape: [n, oh * sh, ow * sw, c] });
}

const backpropInput: KernelFunc = ({ inputs, backend, attrs }) => {
  const { dy, filter } = inputs as { dy: TensorInfo; filter: TensorInfo };
  const a = attrs as unknown as {
    strides: [number, number] | number;
    pad: unknown;
    dataFormat: string;
    dimRoundingMode?: unknown;
    inputShape: Shape4;
  };
  const g = geometry('Conv2DBackpropInput', a.inputShape, shape4(filter, 'filter'), a);
  const [sh, sw] = g.strides;
  const [kh, kw] = g.filter;
  const [h, w] = g.inHW;
  shape4(dy, 'dy');
  const padTop = kh - 1 - g.pad.top;
  const padLeft = kw - 1 - g.pad.left;
  if (padTop < 0 || padLeft < 0) {
    throw new Error(`Conv2DBackpropInput on wasm: padding ${g.pad.top}/${g.pad.left} exceeds filter ${kh}x${kw} − 1`);
  }
  return scoped(backend, (s) => {
    const dyD = dilateDy(s, dy, sh, sw); // [N, OH·sh, OW·sw, Co]
    const flipped = s.run('Reverse', { x: filter }, { dims: [0, 1] });
    const fT = s.run('Transpose', { x: flipped }, { perm: [0, 1, 3, 2] }); // [kh,kw,Co,Ci]
    // Output must be exactly H×W; the zeros dilateDy appended may overshoot, then they are cut instead.
    let padBottom = h + kh - 1 - (dyD.shape[1] as number) - padTop;
    let padRight = w + kw - 1 - (dyD.shape[2] as number) - padLeft;
    const dyIn = cropHW(
      s,
      dyD,
      (dyD.shape[1] as number) + Math.min(padBottom, 0),
      (dyD.shape[2] as number) + Math.min(padRight, 0),
    );
    padBottom = Math.max(padBottom, 0);
    padRight = Math.max(padRight, 0);
    const pad: Pad4 = [
      [0, 0],
      [padTop, padBottom],
      [padLeft, padRight],
      [0, 0],
    ];
    return s.run('Conv2D', { x: dyIn, filter: fT }, { strides: [1, 1], dilations: [1, 1], pad, dataFormat: 'NHWC' });
  });
};

export const wasmConv2DBackpropFilterConfig: KernelConfig = {
  kernelName: 'Conv2DBackpropFilter',
  backendName: BACKEND,
  kernelFunc: backpropFilter,
};

export const wasmConv2DBackpropInputConfig: KernelConfig = {
  kernelName: 'Conv2DBackpropInput',
  backendName: BACKEND,
  kernelFunc: backpropInput,
};

let registered = false;

/**
 * Registers both gradient kernels for wasm (replacing wasm's own loop-based Conv2DBackpropInput).
 * Idempotent. Call any time before training; the kernels need no per-backend setup.
 */
export function registerWasmConvGradients(): void {
  if (registered) return;
  for (const config of [wasmConv2DBackpropFilterConfig, wasmConv2DBackpropInputConfig]) {
    if (getKernel(config.kernelName, BACKEND)) unregisterKernel(config.kernelName, BACKEND);
    registerKernel(config);
  }
  registered = true;
}
