/**
 * The packages a job's image holds, from its package databases as files (the runner reads them from the
 * container's filesystem after the run; nothing of the image is executed): Debian's dpkg status, Python
 * `*.dist-info/METADATA` (and `*.egg-info/PKG-INFO`), npm `node_modules/<name>/package.json`, and
 * /etc/os-release. They become CycloneDX library components with package URLs, so the AIBoM lists what was in
 * the image that ran rather than what the platform assumes.
 */
import * as CDX from '@cyclonedx/cyclonedx-library';
import type { ImageInventory, ImagePackage } from '../contracts.ts';

/** A file read from the image: its path inside the image and its text. */
export interface ImageFile {
  path: string;
  text: string;
}

/** Most packages kept (CycloneDX validation time grows quadratically with components: FACTS.md). */
export const MAX_IMAGE_PACKAGES = 2000;

const enc = (s: string): string => encodeURIComponent(s).replace(/%3A/gi, ':');

/** `pkg:<type>/<namespace>/<name>@<version>?<qualifiers>` (purl-spec), each part percent-encoded. */
export function purl(type: string, name: string, version: string, namespace?: string, q: Record<string, string> = {}) {
  const qs = Object.entries(q)
    .filter(([, v]) => v)
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([k, v]) => `${k}=${enc(v)}`)
    .join('&');
  return `pkg:${type}/${namespace ? `${enc(namespace)}/` : ''}${enc(name)}@${enc(version)}${qs ? `?${qs}` : ''}`;
}

/** KEY=value lines of os-release (quotes removed). */
export function parseOsRelease(text: string): ImageInventory['os'] {
  const kv: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^([A-Z_]+)=(.*)$/.exec(line.trim());
    if (m?.[1]) kv[m[1]] = (m[2] ?? '').replace(/^(["'])(.*)\1$/, '$2');
  }
  if (!kv.ID) return undefined;
  return {
    id: kv.ID,
    ...(kv.VERSION_ID ? { versionId: kv.VERSION_ID } : {}),
    ...(kv.PRETTY_NAME ? { prettyName: kv.PRETTY_NAME } : {}),
  };
}

/** RFC 822-style stanzas (dpkg status) or one header block (Python METADATA): field → value. */
function headerFields(block: string): Record<string, string> {
  const out: Record<string, string> = {};
  let last = '';
  for (const line of block.split('\n')) {
    if (/^\s/.test(line) && last) continue; // continuation lines (descriptions) are not needed
    const m = /^([A-Za-z0-9-]+):\s?(.*)$/.exec(line);
    if (m?.[1]) {
      last = m[1].toLowerCase();
      out[last] ??= (m[2] ?? '').trim();
    }
  }
  return out;
}

/** Installed packages of a dpkg status file. */
export function parseDpkgStatus(text: string, source: string, os: ImageInventory['os']): ImagePackage[] {
  const distro = os?.id ?? 'debian';
  const out: ImagePackage[] = [];
  for (const stanza of text.split(/\n\s*\n/)) {
    const f = headerFields(stanza);
    if (!f.package || !f.version || !/\binstalled$/.test(f.status ?? '')) continue;
    out.push({
      ecosystem: 'deb',
      name: f.package,
      version: f.version,
      purl: purl('deb', f.package, f.version, distro, {
        arch: f.architecture ?? '',
        distro: os?.versionId ? `${distro}-${os.versionId}` : '',
      }),
      source,
    });
  }
  return out;
}

/** A Python distribution's METADATA / PKG-INFO (only the header block before the body). */
export function parsePythonMetadata(text: string, source: string): ImagePackage | undefined {
  const f = headerFields(text.split(/\n\s*\n/)[0] ?? '');
  if (!f.name || !f.version) return undefined;
  // purl-spec: PyPI names are lower-cased with '_' as '-'.
  const name = f.name.toLowerCase().replace(/[_.]+/g, '-');
  const license = f['license-expression'] || (f.license && f.license.length <= 100 ? f.license : undefined);
  return {
    ecosystem: 'pypi',
    name: f.name,
    version: f.version,
    purl: purl('pypi', name, f.version),
    source,
    ...(license ? { license } : {}),
  };
}

/** An npm package.json. */
export function parseNpmPackage(text: string, source: string): ImagePackage | undefined {
  let doc: { name?: unknown; version?: unknown; license?: unknown };
  try {
    doc = JSON.parse(text) as typeof doc;
  } catch {
    return undefined;
  }
  if (typeof doc.name !== 'string' || typeof doc.version !== 'string') return undefined;
  const [scope, name] = doc.name.startsWith('@') ? doc.name.split('/', 2) : [undefined, doc.name];
  if (!name) return undefined;
  return {
    ecosystem: 'npm',
    name: doc.name,
    version: doc.version,
    purl: purl('npm', name, doc.version, scope),
    source,
    ...(typeof doc.license === 'string' ? { license: doc.license } : {}),
  };
}

/** The inventory of the files read from an image (each recognised by its path). */
export function inventoryFromFiles(files: ImageFile[], truncated = false): ImageInventory {
  const osFile = files.find((f) => f.path === '/etc/os-release') ?? files.find((f) => f.path === '/usr/lib/os-release');
  const os = osFile ? parseOsRelease(osFile.text) : undefined;
  const packages: ImagePackage[] = [];
  for (const f of files) {
    if (f.path.endsWith('/dpkg/status')) packages.push(...parseDpkgStatus(f.text, f.path, os));
    else if (/\.dist-info\/METADATA$|\.egg-info\/PKG-INFO$/.test(f.path)) {
      const p = parsePythonMetadata(f.text, f.path);
      if (p) packages.push(p);
    } else if (f.path.endsWith('/package.json')) {
      const p = parseNpmPackage(f.text, f.path);
      if (p) packages.push(p);
    }
  }
  const seen = new Set<string>();
  const unique = packages.filter((p) => !seen.has(p.purl) && seen.add(p.purl));
  unique.sort((a, b) => (a.purl < b.purl ? -1 : 1));
  return {
    ...(os ? { os } : {}),
    packages: unique.slice(0, MAX_IMAGE_PACKAGES),
    read: files.map((f) => f.path).sort(),
    truncated: truncated || unique.length > MAX_IMAGE_PACKAGES,
  };
}

/** The inventory as CycloneDX components (libraries with purls, the OS as an operating-system component). */
export function imageComponents(inv: ImageInventory): CDX.Models.Component[] {
  const out: CDX.Models.Component[] = [];
  if (inv.os)
    out.push(
      new CDX.Models.Component(CDX.Enums.ComponentType.OperatingSystem, inv.os.id, {
        bomRef: `image-os:${inv.os.id}`,
        ...(inv.os.versionId ? { version: inv.os.versionId } : {}),
        ...(inv.os.prettyName ? { description: inv.os.prettyName } : {}),
      }),
    );
  for (const p of inv.packages) {
    const c = new CDX.Models.Component(CDX.Enums.ComponentType.Library, p.name, {
      bomRef: `image-pkg:${p.purl}`,
      version: p.version,
    });
    // The library types its purl as a PackageURL object; the string form serialises the same.
    c.purl = p.purl as unknown as CDX.Models.Component['purl'];
    if (p.license) c.licenses.add(new CDX.Models.NamedLicense(p.license));
    c.properties.add(new CDX.Models.Property('aibomgen:image_path', p.source));
    out.push(c);
  }
  return out;
}
