/**
 * Limits that refuse abusive queries. maxDepth and maxCost are checked before a query runs (graphql-armor
 * validation rules, which cannot know how long a list will be); each verification a query asks for — a
 * `ModelVersion.verification` per version of a list, or a `verify` — is charged `verificationCost` of the same
 * maxCost budget while it runs, so asking it of every version of a long list is refused, not run; each AIBoM
 * document read (`aibomDocument`, up to 16 MiB) is charged `documentCost` the same way.
 */
export const queryLimits = { maxDepth: 12, maxCost: 5000, verificationCost: 250, documentCost: 50 };
