// Secrets by reference: resolving { env } and { file } refs on the worker, substituting them into the
// rendered files without breaking YAML or env-file syntax, and masking them back for people.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, afterEach, describe, it } from 'node:test';
import { parse } from 'yaml';
import { authEnvFile } from '../../src/commands/etcd';
import { productProfile } from '../../src/products';
import { describeRef, maskSecrets, resolveSecret, SecretError, substituteSecrets } from '../../src/remote/secrets';

const tmp = mkdtempSync(path.join(tmpdir(), 'api7-ha-secrets-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
let n = 0;
function secretFile(content: string): string {
  const file = path.join(tmp, `secret_${++n}`);
  writeFileSync(file, content, { mode: 0o600 });
  return file;
}

const ENV_PREFIX = 'API7_HA_UNIT_SECRET_';
const setEnv = (name: string, value: string) => (process.env[`${ENV_PREFIX}${name}`] = value);
const envRef = (name: string) => ({ env: `${ENV_PREFIX}${name}` });
afterEach(() => {
  for (const k of Object.keys(process.env)) if (k.startsWith(ENV_PREFIX)) delete process.env[k];
});

/** The SecretError a promise rejects with. */
async function secretError(p: Promise<unknown>): Promise<SecretError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof SecretError, `expected a SecretError, got ${String(e)}`);
    return e;
  }
  assert.fail('expected the secret to be refused');
}

void describe('resolving secret references', () => {
  void it('reads an environment variable', async () => {
    setEnv('A', 'from-env');
    assert.equal(await resolveSecret(envRef('A')), 'from-env');
  });

  void it('a missing environment variable names the variable and where to set it', async () => {
    const e = await secretError(resolveSecret(envRef('MISSING')));
    assert.equal(e.message, `the secret in environment variable ${ENV_PREFIX}MISSING is not set on the worker; export it where the worker runs`);
  });

  void it('refuses an empty environment variable', async () => {
    setEnv('EMPTY', '');
    assert.equal((await secretError(resolveSecret(envRef('EMPTY')))).message, `the secret in environment variable ${ENV_PREFIX}EMPTY is empty`);
  });

  void it('reads a file and strips one trailing newline (\\n or \\r\\n), nothing else', async () => {
    assert.equal(await resolveSecret({ file: secretFile('s3cret\n') }), 's3cret');
    assert.equal(await resolveSecret({ file: secretFile('s3cret\r\n') }), 's3cret');
    assert.equal(await resolveSecret({ file: secretFile('s3cret') }), 's3cret');
    assert.equal(await resolveSecret({ file: secretFile(' spaced \n\n') }), ' spaced \n');
  });

  void it('refuses an empty file (or one holding only a newline)', async () => {
    for (const content of ['', '\n']) {
      const file = secretFile(content);
      assert.equal((await secretError(resolveSecret({ file }))).message, `the secret in file ${file} is empty`);
    }
  });

  void it('a missing file names the file and the error code', async () => {
    const file = path.join(tmp, 'nope');
    assert.equal((await secretError(resolveSecret({ file }))).message, `cannot read the secret in file ${file}: ENOENT`);
  });

  void it('describes references without their values', () => {
    assert.equal(describeRef({ env: 'API7_DASHBOARD_SECRET' }), 'environment variable API7_DASHBOARD_SECRET');
    assert.equal(describeRef({ file: '/etc/api7/secret' }), 'file /etc/api7/secret');
  });
});

void describe('substituting secrets into YAML files', () => {
  const HOSTILE = [
    'p"q',
    'a: b',
    '#not-a-comment',
    'x # y',
    'line1\nline2',
    "'single'",
    'back\\slash',
    '{flow: map}',
    '[flow, seq]',
    '- dash',
    ' leading space',
    'trailing space ',
    '*alias',
    '&anchor',
    '!tag',
    '%directive',
    '@at',
    '`tick`',
    '|',
    '>-',
    'yes',
    'null',
    '0x1F',
    '1e3',
    '~',
    'tab\there',
    'unicode é 中文 🚀',
    '__SECRET_admin_password__',
  ];

  for (const value of HOSTILE) {
    void it(`the dashboard conf.yaml still parses to the exact secret ${JSON.stringify(value)}`, async () => {
      setEnv('ETCD', value);
      setEnv('DASH', `dash-${value}`);
      setEnv('ADMIN', 'admin-pw');
      const template = productProfile('api7-ee-2.13').controlPlane.renderConfig({
        etcd: { endpoints: ['10.0.0.11:2379'], scheme: 'http', authUser: 'root' },
        port: 9000,
        sharedSecret: true,
        adminUser: 'admin',
        adminPassword: true,
        tokenExpireS: 3600,
      });
      const out = await substituteSecrets(template, { etcd_password: envRef('ETCD'), dashboard_secret: envRef('DASH'), admin_password: envRef('ADMIN') }, 'yaml');
      const doc = parse(out) as { conf: { etcd: { password: string } }; authentication: { secret: string; users: { password: string }[] } };
      assert.equal(doc.conf.etcd.password, value);
      assert.equal(doc.authentication.secret, `dash-${value}`);
      assert.equal(doc.authentication.users[0]?.password, 'admin-pw');
    });
  }

  void it('writes values as JSON (YAML double-quoted) strings', async () => {
    setEnv('Q', 'a"b:c#d\ne');
    assert.equal(await substituteSecrets('password: __SECRET_etcd_password__\n', { etcd_password: envRef('Q') }, 'yaml'), 'password: "a\\"b:c#d\\ne"\n');
  });

  void it('substitutes every occurrence of a placeholder and resolves it once', async () => {
    setEnv('R', 'v');
    assert.equal(await substituteSecrets('a: __SECRET_etcd_password__\nb: __SECRET_etcd_password__\n', { etcd_password: envRef('R') }, 'yaml'), 'a: "v"\nb: "v"\n');
  });

  void it('leaves text without placeholders alone, without resolving anything', async () => {
    assert.equal(await substituteSecrets('no secrets here\n', { etcd_password: envRef('UNSET') }, 'yaml'), 'no secrets here\n');
  });

  void it('refuses a placeholder the inventory has no reference for', async () => {
    const e = await secretError(substituteSecrets('password: __SECRET_etcd_password__', {}, 'yaml'));
    assert.equal(e.message, 'the secret etcd_password is needed but the inventory does not reference it');
  });
});

void describe('substituting secrets into env files and stdin (raw)', () => {
  void it('writes the etcd env file with the value as is', async () => {
    setEnv('RAW', 'pa$$ w"ord\'#');
    assert.equal(await substituteSecrets(authEnvFile(), { etcd_password: envRef('RAW') }, 'raw'), 'ETCD_ROOT_PASSWORD=pa$$ w"ord\'#\n');
  });

  for (const [what, value] of [
    ['newline', 'first\nETCD_OTHER=injected'],
    ['carriage return', 'first\rsecond'],
  ] as const) {
    void it(`refuses a value with a ${what} (it would start a new line), without showing it`, async () => {
      setEnv('NL', value);
      const e = await secretError(substituteSecrets(authEnvFile(), { etcd_password: envRef('NL') }, 'raw'));
      assert.equal(e.message, `the secret in environment variable ${ENV_PREFIX}NL holds a line break, which this file cannot carry`);
      assert.ok(!e.message.includes('first'));
    });
  }
});

void describe('masking secrets for people', () => {
  void it('puts placeholders back where values (raw or JSON-quoted) appear', async () => {
    setEnv('M', 'hunter2-long"');
    const text = 'password: "hunter2-long\\""\nraw=hunter2-long"\n';
    assert.equal(await maskSecrets(text, { etcd_password: envRef('M') }), 'password: __SECRET_etcd_password__\nraw=__SECRET_etcd_password__\n');
  });

  void it('masks every referenced secret and skips references it cannot resolve', async () => {
    setEnv('D', 'dash-secret-value');
    const text = 'secret: dash-secret-value, admin: admin-value';
    assert.equal(
      await maskSecrets(text, { dashboard_secret: envRef('D'), admin_password: envRef('NOT_SET') }),
      'secret: __SECRET_dashboard_secret__, admin: admin-value',
    );
  });

  void it('does not mask values shorter than 4 characters (they would mangle unrelated text)', async () => {
    setEnv('S', 'abc');
    assert.equal(await maskSecrets('abc abcdef', { etcd_password: envRef('S') }), 'abc abcdef');
  });
});
