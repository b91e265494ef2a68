/** `tsx trainer/samples/cli.ts <csv|images|tfrecord> <dir> [samples]` — writes a sample trainer input dir. */
import { writeSampleInput } from './generate.ts';

const [kind, dir, samples] = process.argv.slice(2);
if ((kind !== 'csv' && kind !== 'images' && kind !== 'tfrecord') || !dir) {
  process.stderr.write('usage: samples/cli.ts <csv|images|tfrecord> <dir> [samples]\n');
  process.exit(1);
}
await writeSampleInput(dir, kind, samples ? { samples: Number(samples) } : {});
