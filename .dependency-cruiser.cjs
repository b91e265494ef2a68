/**
 * Architecture rules, checked by test/arch/architecture.test.ts (part of `npm test`). By hand:
 *   npx depcruise schema server cli trainer bench test
 * Type-only imports count (tsPreCompilationDeps): a cycle or a wrong-way import through a type is one too.
 */
const LOWER = '^(server/(db|oci|registry)/|server/identity\\.ts$)';
const HIGHER = '^(server/(jobs|graphql|web|attest|lineage)/|cli/)';

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'An import cycle: the modules on it cannot be understood, tested or loaded one without the others.',
      from: { path: '^(schema|server|cli|trainer|bench)/' },
      to: { circular: true },
    },
    {
      name: 'schema-is-the-bottom',
      severity: 'error',
      comment: 'schema/ holds the contracts every other part uses; it imports none of them.',
      from: { path: '^schema/' },
      to: { path: '^(server|cli|trainer|bench)/' },
    },
    {
      name: 'lower-server-layers-stay-low',
      severity: 'error',
      comment:
        'server/db, server/oci, server/registry and server/identity.ts are the platform underneath; ' +
        'jobs, graphql, web, attest, lineage and the CLI are built on them, never the other way round.',
      from: { path: LOWER },
      to: { path: HIGHER },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    // Build outputs (dist/ anywhere, e.g. trainer/dist's bundles) and git-ignored folders are not sources.
    exclude: { path: '(^|/)(node_modules|dist|\\.out)/|^(data|\\.tools|test-results)/' },
    // Type-only imports (`import type`, and JSDoc `import('…')` types in the dashboard's plain JS) count.
    tsPreCompilationDeps: true,
    detectJSDocImports: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      extensions: ['.ts', '.js', '.mjs', '.cjs', '.json', '.d.ts'],
    },
  },
};
