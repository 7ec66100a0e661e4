// The serve config: the published JSON Schema lists exactly the keys the
// loader accepts, and the example in docs/serve.md is a valid config.

import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parse as parseToml } from 'smol-toml';
import { ADMIN_KEYS, parseConfig, SERVER_KEYS, TENANT_KEYS, TENANT_LIMIT_KEYS, TENANT_POLICY_KEYS, TOP_KEYS } from '../../src/server/config.js';
import { runWarden } from '../helpers/cli.js';
import { repoRoot } from '../helpers/paths.js';
import { tempDir } from '../helpers/tmp.js';

interface Node { properties?: Record<string, Node>; items?: Node; additionalProperties?: boolean }
const schema = JSON.parse(readFileSync(join(repoRoot, 'docs', 'serve.schema.json'), 'utf8')) as Node;
const keys = (node: Node | undefined) => Object.keys(node?.properties ?? {}).sort();

describe('the serve config', () => {
  it('has a JSON Schema with exactly the loader\'s keys, closed at every level', () => {
    const tenant = schema.properties!.tenant!.items!;
    assert.deepEqual(keys(schema), [...TOP_KEYS].sort());
    assert.deepEqual(keys(schema.properties!.admin), [...ADMIN_KEYS].sort());
    assert.deepEqual(keys(schema.properties!.server), [...SERVER_KEYS].sort());
    assert.deepEqual(keys(tenant), [...TENANT_KEYS].sort());
    assert.deepEqual(keys(tenant.properties!.limits), [...TENANT_LIMIT_KEYS].sort());
    assert.deepEqual(keys(tenant.properties!.policy), [...TENANT_POLICY_KEYS].sort());
    for (const node of [schema, schema.properties!.admin!, schema.properties!.server!, tenant, tenant.properties!.limits!, tenant.properties!.policy!]) {
      assert.equal(node.additionalProperties, false);
    }
  });

  it('accepts the example in docs/serve.md', async (t) => {
    const doc = readFileSync(join(repoRoot, 'docs', 'serve.md'), 'utf8');
    const example = /```toml\n([\s\S]*?)```/.exec(doc)![1]!;
    const dir = tempDir(t);
    mkdirSync(join(dir, 'keys'));
    assert.equal((await runWarden(['keygen', '--out', join(dir, 'keys', 'shop')])).code, 0);
    const config = parseConfig(parseToml(example), 'docs/serve.md', dir, { dataDir: join(dir, 'data'), defaultDataDir: () => dir });
    const shop = config.tenants[0]!;
    assert.equal(shop.id, 'shop');
    assert.equal(shop.policy.isolation, 'process');
    assert.equal(shop.policy.trust.require, 1);
    assert.equal(shop.policy.limits.memory, 128 * 1024 * 1024);
    assert.equal(shop.policy.clock?.kind, 'frozen');
    assert.deepEqual(shop.policy.mounts, [{ kind: 'host', host: join(dir, 'data', 'tenant', 'shop'), guest: '/', readOnly: false }]);
    assert.equal(config.admin.listen?.kind, 'unix');
    assert.equal(config.settings.liveSandboxes, 8);
  });
});
