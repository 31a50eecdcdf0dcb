// temporal-docker-compose.yml cannot start here (no registry), so it is validated the way Compose
// itself reads it (`docker-compose config`), checked for what the stack promises, and checked against
// the local PostgreSQL cluster that runs its scripts and environment without Docker.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { LOCAL_OVERRIDES, composeServices, interpolate } from '../../scripts/temporal-cluster';
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

// `npm run temporal -- --postgres` and the cluster tests run this same file's scripts and environment
// (scripts/temporal-cluster.ts): what they may change is listed, and the versions agree.
void describe('temporal-docker-compose.yml and the local PostgreSQL cluster stay in step', () => {
  const services = composeServices({});
  const builtVersion = /^TEMPORAL_SERVER_VERSION=v(\d+\.\d+\.\d+)$/m.exec(readFileSync(join(repoRoot(), 'scripts', 'tools', 'temporal-server.sh'), 'utf8'))?.[1];

  void it('runs the server version that provisioning builds from source', () => {
    assert.ok(builtVersion, 'scripts/tools/temporal-server.sh pins TEMPORAL_SERVER_VERSION');
    for (const name of ['temporal', 'temporal-schema', 'temporal-setup']) {
      const image = (parse(readFileSync(file, 'utf8')) as { services: Record<string, Service> }).services[name]!.image;
      assert.equal(image.split(':')[1], builtVersion, `${name}: ${image}`);
    }
  });

  void it('has PostgreSQL for persistence and SQL (advanced) visibility, no Elasticsearch', () => {
    const env = services['temporal']!.environment!;
    assert.equal(env['DB'], 'postgres12');
    assert.equal(env['ENABLE_ES'], undefined);
    assert.equal(env['POSTGRES_PORT'], env['DB_PORT'], 'the template reads POSTGRES_PORT for visibility, DB_PORT for persistence');
  });

  void it('takes addresses, ports and the schema folder from variables the local cluster overrides, and nothing else', () => {
    const schema = [services['temporal-schema']!.command].flat().join('\n');
    for (const v of ['$POSTGRES_SEEDS', '$DB_PORT', '$POSTGRES_USER', '${TEMPORAL_SCHEMA_DIR:-/etc/temporal/schema}/postgresql/v12']) assert.ok(schema.includes(v), `the schema script uses ${v}`);
    assert.doesNotMatch(schema, /--ep postgresql|-p 5432/, 'no hard-coded database address in the schema script');
    const setup = [services['temporal-setup']!.command].flat().join('\n');
    assert.match(setup, /temporal operator namespace create -n default/);
    assert.deepEqual(Object.keys(services['temporal-setup']!.environment ?? {}), ['TEMPORAL_ADDRESS']);
    for (const k of LOCAL_OVERRIDES) assert.ok(/^[A-Z_]+$/.test(k));
    // The rest of the server's environment reaches the local server unchanged.
    const local = new Set<string>([...LOCAL_OVERRIDES]);
    const shared = Object.keys(services['temporal']!.environment!).filter((k) => !local.has(k));
    assert.deepEqual(shared.sort(), ['DB', 'POSTGRES_PWD', 'POSTGRES_USER'].sort());
  });

  void it('interpolates like Compose: $$ is a dollar, ${X:-d} the variable or its default', () => {
    assert.equal(interpolate('$${a} ${U:-temporal} ${V:-x}', { U: 'ops', V: '' }), '${a} ops x');
  });
});
