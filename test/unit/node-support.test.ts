import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { FUNCTION_RUNTIME } from '../../lib/function-defaults';
import { quietSdkNodeNotice } from '../../local/sdk-notice';

/** npm's own range semantics (semver, installed with the CDK; no types of its own here). */
const semver = createRequire(__filename)('semver') as { satisfies(version: string, range: string): boolean; major(version: string): number };
const ROOT = join(__dirname, '..', '..');
const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');

describe('Node 22 as the baseline, Node 20.19+ still working', () => {
  const engines = (JSON.parse(read('package.json')) as { engines: { node: string } }).engines.node;

  it('engines accept Node 22 (the version .ci/run tests on) and 20.19+, and nothing older', () => {
    const ciNode22 = /NODE22_VERSION=(\S+)/.exec(read('.ci/run'))?.[1] ?? '';
    expect(semver.major(ciNode22)).toBe(22);
    for (const v of [ciNode22, '22.0.0', '24.1.0', '20.19.0', '20.20.2']) expect({ v, ok: semver.satisfies(v, engines) }).toEqual({ v, ok: true });
    for (const v of ['20.18.3', '21.7.3', '18.20.0']) expect({ v, ok: semver.satisfies(v, engines) }).toEqual({ v, ok: false });
    const lock = JSON.parse(read('package-lock.json')) as { packages: Record<string, { engines?: { node?: string } }> };
    expect(lock.packages['']?.engines?.node).toBe(engines);
  });

  it('deploys the functions on Lambda\'s Node 22 runtime', () => {
    expect(FUNCTION_RUNTIME.name).toBe('nodejs22.x');
  });

  it('the README names Node 22 as the baseline', () => {
    expect(read('README.md')).toMatch(/Node\.js 22 is the supported baseline/);
  });

  describe("the AWS SDK's Node-version notice in CLIs", () => {
    it('is switched off (the SDK\'s documented variable) on Node 20', () => {
      const env: NodeJS.ProcessEnv = {};
      expect(quietSdkNodeNotice('20.20.2', env)).toBe(true);
      expect(env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED).toBe('true');
    });

    it('is left alone on Node 22 and later, where the SDK prints nothing', () => {
      for (const version of ['22.0.0', 'v22.23.5', '24.1.0']) {
        const env: NodeJS.ProcessEnv = {};
        expect(quietSdkNodeNotice(version, env)).toBe(false);
        expect(env).toEqual({});
      }
    });

    it('never overrides what the user set', () => {
      const env: NodeJS.ProcessEnv = { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'false' };
      expect(quietSdkNodeNotice('20.20.2', env)).toBe(false);
      expect(env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED).toBe('false');
    });
  });
});
