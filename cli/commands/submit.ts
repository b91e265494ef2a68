import { Command } from 'commander';
import type { JobResponse } from '../../schema/api.ts';
import type { JobEvent } from '../../server/contracts.ts';
import { CliError, ExitCode, usageError } from '../errors.ts';
import { formatEvent } from '../job-format.ts';
import { followJobEvents } from '../job-events.ts';
import { postMultipart, type FilePart } from '../multipart.ts';
import { colors, err, formatLogs, interactive, out, printJson } from '../output.ts';
import { apiErrorFromText, PlatformClient, resolvePlatform } from '../platform.ts';
import { ProgressBar } from '../progress.ts';

/** Metadata flags → the seed's form field names (schema/api.ts modelMetadataFields). */
const metadataFlags: [flag: string, field: string, help: string][] = [
  ['name', 'model_name', 'model name (also the repository: models/<name>)'],
  ['model-version', 'model_version', 'model version (also the tag)'],
  ['description', 'model_description', 'model description'],
  ['author', 'author', 'author'],
  ['model-type', 'model_type', 'model type / task, e.g. classification'],
  ['base-model', 'base_model', 'base model this one is fine-tuned from'],
  ['base-model-source', 'base_model_source', 'URL of the base model'],
  ['intended-use', 'intended_use', 'intended use'],
  ['out-of-scope', 'out_of_scope', 'out-of-scope uses'],
  ['misuse', 'misuse_or_malicious', 'misuse or malicious uses'],
  ['license', 'license_name', 'license name, e.g. MIT'],
];
/** Training parameter flags → the seed's param names. */
const paramFlags: [flag: string, field: string, help: string][] = [
  ['epochs', 'epochs', 'training epochs (server default 50)'],
  ['batch-size', 'batch_size', 'batch size (default 32)'],
  ['validation-split', 'validation_split', 'fraction held out for validation (default 0.2)'],
  ['initial-epoch', 'initial_epoch', 'epoch to start from (default 0)'],
  ['steps-per-epoch', 'steps_per_epoch', 'steps per epoch'],
  ['validation-steps', 'validation_steps', 'validation steps'],
  ['validation-freq', 'validation_freq', 'validate every n epochs (default 1)'],
  ['seed', 'seed', 'random seed (reproducible shuffles and initialisation)'],
];

const camel = (flag: string): string => flag.replace(/-([a-z])/g, (_, ch: string) => ch.toUpperCase());

function keyValues(list: string[], flag: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const kv of list) {
    const eq = kv.indexOf('=');
    if (eq <= 0) throw usageError(`${flag} takes key=value, got ${JSON.stringify(kv)}`);
    out[kv.slice(0, eq)] = kv.slice(eq + 1);
  }
  return out;
}

const collect = (v: string, prev: string[]): string[] => [...prev, v];

/** Files bigger than this get an upload progress bar (on a terminal). */
const BIG_UPLOAD = 1024 * 1024;

/** `aibomgen submit`: upload model + dataset + definition, then follow the job live until it is published. */
export function submitCommand(): Command {
  const cmd = new Command('submit')
    .description(
      'submit a training job (model + dataset + dataset definition, or a trainer image), follow it live, print the published model',
    )
    .option('--model <file>', 'model to train: .keras, a TF.js model.json, or a zip of model.json + weight files')
    .option('--dataset <file>', 'dataset: CSV, a zip of PNG class folders, or TFRecord')
    .option('--definition <file>', 'dataset definition (JSON)')
    .option(
      '--image <ref>',
      "instead of --model/--definition: a trainer image in this platform's registry, run with --command (needs the docker runner)",
    )
    .option('--command <cmd>', 'with --image: the command, as a JSON array of strings or words split on spaces')
    .option(
      '--input <file>',
      'with --image: another input file, mounted read-only at /input/<name> (repeatable)',
      collect,
      [],
    )
    .option(
      '--framework <name>',
      'framework of the model (tensorflow, tfjs, keras; keras runs the Keras trainer; with --image any name, default "any")',
    )
    .option(
      '--gpu [request]',
      'ask for GPUs: alone or "all" every GPU of the worker, a count (2), or device ids (0,1 or GPU-<uuid>)',
    );
  for (const [flag, , help] of metadataFlags) cmd.option(`--${flag} <value>`, help);
  for (const [flag, , help] of paramFlags) cmd.option(`--${flag} <n>`, help);
  cmd
    .option('--meta <key=value>', 'another metadata field (repeatable)', collect, [])
    .option('--param <key=value>', 'another training parameter (repeatable)', collect, [])
    .option('-d, --detach', 'print the job id and return at once')
    .option('--json', 'print the final JobResponse (with --detach: the accepted one) as JSON')
    .addHelpText(
      'after',
      `
Progress (upload bar, states, epochs) goes to stderr; stdout gets only the result: the published model
reference (or the job id with --detach), so scripts can capture it. Exit 0 only when the job succeeded;
1 when it failed or was cancelled; 2 for invalid flags or input the server rejected.

Examples:
  aibomgen submit --model model.keras --dataset data.csv --definition definition.json --epochs 2 --name iris --model-version 1.0.0
  ref=$(aibomgen submit --model m.keras --dataset d.csv --definition def.json --epochs 1)
  aibomgen submit --model m.keras --dataset d.csv --definition def.json --detach --json | jq -r .job_id
  aibomgen submit --model m.keras --dataset d.csv --definition def.json --framework keras --gpu 1
  aibomgen submit --image 127.0.0.1:8080/trainers/mine:1 --command '["python","train.py"]' --dataset d.csv --input cfg.yaml --name mine
`,
    )
    .action(async (opts: Record<string, string | string[] | boolean | undefined>, command: Command) => {
      // The server's own schemas, loaded here only (zod is slow to load for every other command).
      const { failingFields, modelMetadataFields, normalizeFramework, trainingParams } = await import(
        '../../schema/api.ts'
      );
      const str = (k: string): string | undefined => (typeof opts[k] === 'string' ? (opts[k] as string) : undefined);
      const image = str('image');
      const extra = opts.input as string[];
      if (image) {
        if (str('definition'))
          throw usageError(
            '--definition is for model + dataset jobs; an --image job gets its files with --dataset, --model and --input',
          );
      } else {
        const missing = ['model', 'dataset', 'definition'].filter((k) => !str(k));
        if (missing.length)
          throw usageError(`missing ${missing.map((k) => `--${k}`).join(', ')} (or name a trainer image with --image)`);
        if (str('command') || extra.length) throw usageError('--command and --input go with --image');
      }
      const framework = str('framework') ?? (image ? 'any' : 'tensorflow');
      // --gpu alone is `true` for commander; a value is checked with the server's own parser before any upload.
      const gpu = opts.gpu === true ? 'true' : str('gpu');
      if (gpu !== undefined) {
        const { gpuField } = await import('../../schema/jobs.ts');
        if (!gpuField.safeParse(gpu).success)
          throw usageError(`--gpu ${gpu}: expected nothing (all GPUs), a count, or device ids like 0,1`);
      }
      if (!image && !normalizeFramework(framework))
        throw usageError(`--framework ${framework} is not supported (use tensorflow, tfjs or keras)`);
      const metadata: Record<string, string> = keyValues(opts.meta as string[], '--meta');
      for (const [flag, field] of metadataFlags)
        if (str(camel(flag)) !== undefined) metadata[field] = str(camel(flag))!;
      const params: Record<string, string> = keyValues(opts.param as string[], '--param');
      for (const [flag, field] of paramFlags) if (str(camel(flag)) !== undefined) params[field] = str(camel(flag))!;
      if (image && Object.keys(params).length)
        throw usageError(
          "training parameters go to the platform's trainer; an --image job takes its own in --command or an --input file",
        );
      // The same schemas the server applies: bad values fail here, before any upload.
      const badMeta = modelMetadataFields.strict().safeParse(metadata);
      if (!badMeta.success)
        throw usageError(
          `invalid metadata: ${failingFields(badMeta.error)
            .map((f) => `${f.field}: ${f.message}`)
            .join('; ')}`,
        );
      const badParams = trainingParams.safeParse(params);
      if (!badParams.success)
        throw usageError(
          `invalid training parameters: ${failingFields(badParams.error)
            .map((f) => `${f.field}: ${f.message}`)
            .join('; ')}`,
        );

      const client = new PlatformClient(resolvePlatform(command));
      const files: FilePart[] = image
        ? [
            ...(str('model') ? [{ field: 'model', path: str('model')! }] : []),
            ...(str('dataset') ? [{ field: 'dataset', path: str('dataset')! }] : []),
            ...extra.map((path) => ({ field: 'input', path })),
          ]
        : [
            { field: 'model', path: str('model')! },
            { field: 'dataset', path: str('dataset')! },
            { field: 'dataset_definition', path: str('definition')!, contentType: 'application/json' },
          ];
      const fields: Record<string, string> = image
        ? { image, framework, ...(str('command') ? { command: str('command')! } : {}), ...metadata }
        : { framework, ...metadata, ...params };
      if (gpu !== undefined) fields.gpu = gpu;
      let bar: ProgressBar | undefined;
      const path = image ? '/developer/submit_job_by_image' : '/developer/submit_job_by_model_and_data';
      const res = await postMultipart(client, path, fields, files, (sent, total) => {
        if (!bar && total >= BIG_UPLOAD) bar = new ProgressBar('upload', total);
        bar?.update(sent);
      });
      bar?.finish();
      if (res.status !== 202 && res.status !== 200 && res.status !== 201)
        throw apiErrorFromText(res.status, res.body, 'job submission');
      const job = JSON.parse(res.body) as JobResponse;
      if (opts.detach) {
        if (opts.json) printJson(job);
        else out(job.id);
        return;
      }
      const c = colors(process.stderr);
      err(`job ${c.bold(job.id)} ${job.state}`);
      const epochs = typeof job.params?.epochs === 'number' ? job.params.epochs : Number(params.epochs) || undefined;
      const live = interactive(process.stderr);
      const epochBar = live && epochs ? new ProgressBar('training', epochs, 'count') : undefined;
      let epochsDone = 0;
      // Ctrl-C stops watching, not the job: say how to pick it up again.
      const onInt = (): void => {
        epochBar?.clear();
        err(
          `\nstopped following; job ${job.id} goes on (aibomgen jobs logs -f ${job.id}, aibomgen jobs cancel ${job.id})`,
        );
        process.exit(130);
      };
      process.once('SIGINT', onInt);
      const end = await followJobEvents(client, job.id, (e: JobEvent) => {
        if (e.type === 'state' && e.state === job.state && e.seq <= 1) return; // already said
        if (e.type === 'epoch' && epochBar) {
          epochBar.clear();
          err(`epoch ${e.epoch}/${epochs} ${formatLogs(e.logs)}`);
          epochsDone = e.epoch;
          epochBar.update(epochsDone);
          return;
        }
        if (e.type === 'batch' || e.type === 'log') return;
        epochBar?.clear();
        const line = formatEvent(e, c, epochs);
        if (line) err(line);
        epochBar?.update(epochsDone);
      });
      process.off('SIGINT', onInt);
      epochBar?.finish();
      const final = await client.json<JobResponse>('GET', `/developer/job_status/${encodeURIComponent(job.id)}`);
      if (opts.json) printJson(final);
      if (end.state !== 'succeeded')
        throw new CliError(
          `job ${job.id} ${end.state}${end.reason ? `: ${end.reason}` : ''} (aibomgen jobs logs ${job.id})`,
          ExitCode.failure,
        );
      if (!final.publication) throw new CliError(`job ${job.id} succeeded but reports no publication`);
      if (!opts.json) out(final.publication.ref);
    });
  return cmd;
}
