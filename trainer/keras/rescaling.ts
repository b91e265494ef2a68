/**
 * Keras' `Rescaling` layer (y = x * scale + offset), which tfjs-layers lacks; registered under the Keras class
 * name so both TF.js model.json files and converted `.keras` configs deserialise it.
 */
import * as tf from '../tf.ts';

interface RescalingArgs {
  /** A number, or one value per channel (Keras allows both). */
  scale?: number | number[];
  offset?: number | number[];
  name?: string;
  trainable?: boolean;
  inputShape?: number[];
  batchInputShape?: (number | null)[];
  dtype?: tf.DataType;
}

export class Rescaling extends tf.layers.Layer {
  static className = 'Rescaling';
  readonly scale: number | number[];
  readonly offset: number | number[];

  constructor(args: RescalingArgs = {}) {
    super(args as ConstructorParameters<typeof tf.layers.Layer>[0]);
    this.scale = args.scale ?? 1;
    this.offset = args.offset ?? 0;
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = Array.isArray(inputs) ? inputs[0]! : inputs;
      return tf.add(tf.mul(x, this.scale), this.offset);
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), scale: this.scale, offset: this.offset };
  }
}

let registered = false;
export function registerCustomLayers(): void {
  if (registered) return;
  tf.serialization.registerClass(Rescaling);
  registered = true;
}
