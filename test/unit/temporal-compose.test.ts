// temporal-docker-compose.yml cannot start here (no registry), so it is validated the way Compose
// itself reads it (`docker-compose config`), and checked for what the stack promises.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { SEARCH_ATTRIBUTE_TYPES } from '../../src/workflows/search-attributes';
import { repoRoot } from '../support/paths';

interface Service {
  image: string;
  healthcheck?: { test: string[] | string };
  depends_on?: Record<string, { condition: string }>;
  command?: string[] | string;
  environment?: Record<string, string>;
  ports?: unknown[];
}

const file = join(repoRoot(), 'temporal-docker-compose.yml');
const compose = existsSync('/usr/bin/docker-compose') ? '/usr/bin/docker-compose' : undefined;

void describe('temporal-docker-compose.yml', { skip: compose ? false : 'needs docker-compose (npm test provisions it)' }, () => {
  const config = () => parse(execFileSync(compose!, ['-f', file, 'config'], { cwd: repoRoot() }).toString()) as { services: Record<string, Service>; volumes: Record<string, unknown> };

  void it('is valid for docker-compose, and has PostgreSQL, schema setup, server, search attributes and UI', () => {
    const { services, volumes } = config();
    assert.deepEqual(Object.keys(services).sort(), ['postgresql', 'temporal', 'temporal-schema', 'temporal-setup', 'temporal-ui']);
    assert.match(services['temporal']!.image, /^temporalio\/server:\d+\.\d+\.\d+$/);
    assert.match(services['temporal-schema']!.image, /^temporalio\/admin-tools:/);
    assert.match(services['temporal-ui']!.image, /^temporalio\/ui:/);
    assert.ok(!Object.values(services).some((s) => s.image.startsWith('temporalio/auto-setup')), 'not the deprecated auto-setup image');
    assert.ok('temporal-postgres' in volumes, 'PostgreSQL data on a named volume');
  });

  void it('starts in order, gated by health checks and a finished schema setup', () => {
    const { services } = config();
    for (const name of ['postgresql', 'temporal', 'temporal-ui']) assert.ok(services[name]!.healthcheck, `${name} has a health check`);
    assert.equal(services['temporal-schema']!.depends_on?.['postgresql']?.condition, 'service_healthy');
    assert.equal(services['temporal']!.depends_on?.['temporal-schema']?.condition, 'service_completed_successfully');
    assert.equal(services['temporal-setup']!.depends_on?.['temporal']?.condition, 'service_healthy');
    assert.equal(services['temporal']!.environment?.['DB'], 'postgres12');
  });

  void it('registers every search attribute the workflows set', () => {
    const { services } = config();
    const setup = [services['temporal-setup']!.command].flat().join('\n');
    for (const [name, type] of Object.entries(SEARCH_ATTRIBUTE_TYPES)) assert.ok(setup.includes(`${name}=${type}`), `${name}=${type} is created`);
  });
});
