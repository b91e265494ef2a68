/** Media types spoken across the platform: OCI, Docker, CNCF ModelPack, sigstore, in-toto, CycloneDX. */
export const MediaType = {
  // OCI image-spec v1.1
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociEmpty: 'application/vnd.oci.empty.v1+json',
  ociLayerTar: 'application/vnd.oci.image.layer.v1.tar',
  ociLayerTarGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  // Docker distribution
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  // CNCF ModelPack (model-spec)
  modelManifestArtifact: 'application/vnd.cncf.model.manifest.v1+json',
  modelConfig: 'application/vnd.cncf.model.config.v1+json',
  modelWeightRaw: 'application/vnd.cncf.model.weight.v1.raw',
  modelWeightConfigRaw: 'application/vnd.cncf.model.weight.config.v1.raw',
  modelDocRaw: 'application/vnd.cncf.model.doc.v1.raw',
  modelCodeRaw: 'application/vnd.cncf.model.code.v1.raw',
  modelDatasetRaw: 'application/vnd.cncf.model.dataset.v1.raw',
  // Evidence
  sigstoreBundle: 'application/vnd.dev.sigstore.bundle.v0.3+json',
  inTotoLink: 'application/vnd.in-toto.link+json',
  inTotoLayout: 'application/vnd.in-toto.layout+json',
  cyclonedxJson: 'application/vnd.cyclonedx+json',
  // A job's input files on their way from the API node that received them to the worker that runs the job.
  jobInputsArtifact: 'application/vnd.aibomgen.job.inputs.v1',
} as const;
export type MediaTypeName = keyof typeof MediaType;

/** Manifest media types a registry PUT accepts. */
export const manifestMediaTypes: readonly string[] = [
  MediaType.ociManifest,
  MediaType.ociIndex,
  MediaType.dockerManifest,
  MediaType.dockerManifestList,
];

/** Annotation keys peers read (oras pull writes files named by title; modctl reads filepath). */
export const Annotation = {
  title: 'org.opencontainers.image.title',
  created: 'org.opencontainers.image.created',
  modelFilepath: 'org.cncf.model.filepath',
  /** The same under its CNAI-era name (model-spec ≤ 0.0.6), the one modctl ≤ 0.0.5 — the newest built here — reads. */
  modelFilepathCnai: 'org.cnai.model.filepath',
  /** Standard base-image annotations; a plain `oras push --annotation` with these joins the lineage graph. */
  baseName: 'org.opencontainers.image.base.name',
  baseDigest: 'org.opencontainers.image.base.digest',
  // Lineage annotations written by the publisher (values `<repo>@sha256:<hex>`; datasets comma-separated).
  baseModel: 'io.aibomgen.base-model',
  dataset: 'io.aibomgen.dataset',
  job: 'io.aibomgen.job',
  trainerImage: 'io.aibomgen.trainer-image',
} as const;
