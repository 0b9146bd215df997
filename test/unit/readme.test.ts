import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The README's quick start, as a new user follows it. */
describe('README quick start', () => {
  const readme = readFileSync(join(__dirname, '..', '..', 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Quick start'), readme.indexOf('`npm start` runs the API'));
  const commands = [...section.matchAll(/```bash\n([\s\S]*?)```/g)]
    .map(([, block = '']) => block.replace(/\\\n\s*/g, ' ')) // a continued line (curl … \) is one command
    .flatMap((block) => block.split('\n'))
    .map((line) => line.replace(/\s+#.*$/, '').trim())
    .filter((line) => line && !line.startsWith('#'))
    .flatMap((line) => line.split(' && ')); // `a && b` is two

  it('counts its commands right', () => {
    const words = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine'];
    const heading = /## Quick start: a signed delivery in (\w+) commands/.exec(section)?.[1];
    expect(heading).toBe(words[commands.length]);
  });

  it('creates the webhook before starting its receiver, on the port the webhook names, then sends the event', () => {
    const index = (prefix: string) => commands.findIndex((c) => c.startsWith(prefix));
    expect(index('curl -s -X POST')).toBeGreaterThan(index('export KEY='));
    expect(index('npm run receiver')).toBeGreaterThan(index('curl -s -X POST'));
    expect(index('npm run send-event')).toBeGreaterThan(index('npm run receiver'));
    const port = /127\.0\.0\.1:(\d+)\/webhook/.exec(commands[index('curl -s -X POST')] ?? '')?.[1];
    expect(commands[index('npm run receiver')]).toContain(`--port ${port}`);
    expect(section).toMatch(/PORT=\d+ npm start/);
  });
});
