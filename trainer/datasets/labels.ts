/** Turns a raw label value into the target row: the value itself for output size 1, else one-hot. */
import { TrainerError } from '../errors.ts';

export function writeTarget(ys: Float32Array, row: number, outputSize: number, value: number, where: string): void {
  if (outputSize === 1) {
    ys[row] = value;
    return;
  }
  if (!Number.isInteger(value) || value < 0 || value >= outputSize) {
    throw new TrainerError(
      'shape_mismatch',
      `${where}: label ${value} is not a class index in [0, ${outputSize}) (output_shape is [${outputSize}])`,
      'output_shape',
    );
  }
  ys[row * outputSize + value] = 1;
}
