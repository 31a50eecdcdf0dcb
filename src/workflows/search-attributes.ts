// Custom search attributes: registered on the server (npm run temporal, tests), set by workflows,
// read by `api7-ha drills` and the UI's filters.
import { defineSearchAttributeKey } from '@temporalio/common';

export const searchAttributes = {
  cluster: defineSearchAttributeKey('Api7Cluster', 'KEYWORD'),
  phase: defineSearchAttributeKey('Api7Phase', 'KEYWORD'),
  kind: defineSearchAttributeKey('Api7Kind', 'KEYWORD'),
  verdict: defineSearchAttributeKey('Api7Verdict', 'KEYWORD'),
  score: defineSearchAttributeKey('Api7Score', 'DOUBLE'),
} as const;

/** name=type pairs for `temporal server start-dev --search-attribute` and operator setup. */
export const SEARCH_ATTRIBUTE_TYPES: Record<string, 'Keyword' | 'Double'> = {
  Api7Cluster: 'Keyword',
  Api7Phase: 'Keyword',
  Api7Kind: 'Keyword',
  Api7Verdict: 'Keyword',
  Api7Score: 'Double',
};
