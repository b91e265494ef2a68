/** A dataset loaded into memory: flat feature and target arrays, ready to become tensors. */
export interface LoadedDataset {
  kind: 'csv' | 'images' | 'tfrecord';
  /** Number of samples. */
  n: number;
  /** Per-sample feature shape (the definition's input_shape). */
  inputShape: number[];
  /** Per-sample target length (output_shape[0]). */
  outputSize: number;
  xs: Float32Array;
  ys: Float32Array;
}
