import type { ArtifactRule } from './layout.ts';
import type { ArtifactMap } from './link.ts';

/** fnmatch-style pattern (`*` matches across `/`, as in in-toto's Python fnmatch). */
function matches(pattern: string, path: string): boolean {
  const re = new RegExp(
    `^${pattern
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.')}$`,
  );
  return re.test(path);
}

/**
 * Applies a step's ALLOW / CREATE / DELETE / MODIFY / REQUIRE / DISALLOW rules the way in-toto does (a queue of
 * artifacts consumed by the first matching rule). Returns the reason for the first failure, or undefined.
 * MATCH is not used by our layout and is refused rather than half-implemented.
 */
export function checkArtifactRules(
  rules: ArtifactRule[],
  artifacts: ArtifactMap,
  materials: ArtifactMap,
  products: ArtifactMap,
  kind: 'materials' | 'products',
): string | undefined {
  let queue = Object.keys(artifacts);
  for (const rule of rules) {
    const [op, pattern] = rule;
    if (!op || pattern === undefined) return `malformed rule ${JSON.stringify(rule)}`;
    const hit = queue.filter((p) => matches(pattern, p));
    switch (op) {
      case 'ALLOW':
        break;
      case 'CREATE':
        queue = queue.filter((p) => !(hit.includes(p) && !(p in materials)));
        continue;
      case 'DELETE':
        queue = queue.filter((p) => !(hit.includes(p) && !(p in products)));
        continue;
      case 'MODIFY':
        queue = queue.filter(
          (p) => !(hit.includes(p) && p in materials && p in products && materials[p]?.sha256 !== products[p]?.sha256),
        );
        continue;
      case 'REQUIRE':
        if (!Object.keys(artifacts).includes(pattern)) return `${kind}: REQUIRE ${pattern} but it is absent`;
        continue;
      case 'DISALLOW':
        if (hit.length > 0) return `${kind}: DISALLOW ${pattern} matched ${hit.join(', ')}`;
        continue;
      default:
        return `unsupported rule ${op}`;
    }
    queue = queue.filter((p) => !hit.includes(p));
  }
  return undefined;
}
