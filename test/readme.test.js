// The README and CONTRIBUTING.md stay true to the checkout: the README's quick start runs as written,
// from a project that reaches this checkout as `require('stridekit')` does for a user (a
// node_modules/stridekit symlink, as `npm link` makes), and prints what the README says it prints;
// the two commands it gives for a clone are ones CI (.ci/run) runs; every relative link in the
// documents points to a file (and heading) that exists; and the README stays short enough to be read.
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const root = path.join(__dirname, '..');
const README_MAX_LINES = 300;
const DOCUMENTS = ['README.md', 'CONTRIBUTING.md', 'bench/results/RUNS.md'];

const read = (file) => fs.readFileSync(path.join(root, file), 'utf8');

/** The fenced block that follows `<!-- marker` (the first fence after the comment), with its language. */
function blockAfter(text, marker) {
  const at = text.indexOf(`<!-- ${marker}`);
  if (at < 0) throw new Error(`README.md has no <!-- ${marker} --> comment`);
  const fence = /^```(\w*)\n([\s\S]*?)^```$/m.exec(text.slice(at));
  if (!fence) throw new Error(`no fenced code block after <!-- ${marker} -->`);
  return { language: fence[1], code: fence[2] };
}

/** Lines outside fenced code blocks, with their line numbers. */
function proseLines(text) {
  const lines = [];
  let fenced = false;
  text.split('\n').forEach((line, i) => {
    if (/^\s*```/.test(line)) fenced = !fenced;
    else if (!fenced) lines.push({ line, number: i + 1 });
  });
  return lines;
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens, repeats numbered. */
function anchors(text) {
  const seen = new Map();
  const result = new Set();
  for (const { line } of proseLines(text)) {
    const heading = /^#{1,6}\s+(.*?)\s*$/.exec(line);
    if (!heading) continue;
    const base = heading[1].toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, '').replace(/\s/g, '-');
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    result.add(count === 0 ? base : `${base}-${count}`);
  }
  return result;
}

/** Every link and image target in the prose (inline code spans and fenced blocks left out). */
function links(text) {
  const found = [];
  for (const { line, number } of proseLines(text)) {
    const prose = line.replace(/`[^`]*`/g, '');
    for (const match of prose.matchAll(/!?\[[^\]]*\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) {
      found.push({ target: match[1], line: number });
    }
  }
  return found;
}

describe('README.md', () => {
  const readme = read('README.md');

  test(`stays under ${README_MAX_LINES} lines (everything for contributors belongs in CONTRIBUTING.md)`, () => {
    const lines = readme.replace(/\n$/, '').split('\n').length;
    expect(lines).toBeLessThan(README_MAX_LINES);
  });

  test('begins with `npm install stridekit`: its first code block', () => {
    const first = /^```\w*\n([\s\S]*?)^```$/m.exec(readme);
    expect(first && first[1].trim()).toBe('npm install stridekit');
  });

  test('its quick start runs as written and prints what the README shows', () => {
    const start = blockAfter(readme, 'quick-start:');
    const shown = blockAfter(readme, 'quick-start-output');
    expect(start.language).toBe('js');
    expect(start.code).toMatch(/require\('stridekit'\)/);
    expect(start.code.split('\n').filter((l) => l.trim()).length).toBeLessThanOrEqual(10);

    const project = fs.mkdtempSync(path.join(os.tmpdir(), 'stridekit-readme-'));
    try {
      fs.mkdirSync(path.join(project, 'node_modules'));
      fs.symlinkSync(root, path.join(project, 'node_modules', 'stridekit'), 'junction');
      fs.writeFileSync(path.join(project, 'quick-start.js'), start.code);
      // The environment as the suite has it: STRIDEKIT_BACKEND (npm run test:backends) runs the quick
      // start on each backend, whose output must be the same.
      const run = spawnSync(process.execPath, ['quick-start.js'], { cwd: project, encoding: 'utf8', timeout: 60000 });
      if (run.error) throw run.error;
      expect(run.stderr).toBe('');
      expect(run.status).toBe(0);
      expect(run.stdout.trimEnd()).toBe(shown.code.trimEnd());
    } finally {
      fs.rmSync(project, { recursive: true, force: true });
    }
  });

  test('the commands it gives for a fresh clone are scripts of package.json that CI (.ci/run) runs', () => {
    const { language, code } = blockAfter(readme, 'from-a-clone:');
    expect(language).toBe('sh');
    const scripts = JSON.parse(read('package.json')).scripts;
    // .ci/run's steps: `step <command>` lines, the command as it runs it.
    const steps = read('.ci/run').split('\n')
      .map((line) => /^step\s+(.*?)\s*$/.exec(line)).filter(Boolean).map((m) => m[1].split(/\s+/));
    const commands = code.split('\n').map((line) => line.replace(/#.*$/, '').trim()).filter(Boolean)
      .flatMap((line) => line.split('&&').map((c) => c.trim().split(/\s+/)));
    expect(commands.length).toBeGreaterThanOrEqual(3);
    for (const words of commands) {
      if (words[0] === 'npm' && words[1] === 'run') expect(Object.keys(scripts)).toContain(words[2]);
      // CI may add flags after the README's words (`npm ci --ignore-scripts --no-audit`), never other words.
      const ranByCi = steps.some((step) => words.every((word, i) => step[i] === word));
      if (!ranByCi) throw new Error(`.ci/run has no step that runs \`${words.join(' ')}\` (README, From a clone)`);
    }
    // The last command is the test suite, and it is what CI runs last.
    expect(commands[commands.length - 1]).toEqual(steps[steps.length - 1]);
  });
});

describe.each(DOCUMENTS)('%s', (file) => {
  const text = read(file);

  test('every relative link points to a file that exists, and every #anchor to a heading', () => {
    const broken = [];
    for (const { target, line } of links(text)) {
      if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto:
      const [where, anchor] = target.split('#');
      const resolved = where ? path.resolve(root, path.dirname(file), decodeURI(where)) : path.join(root, file);
      if (!fs.existsSync(resolved)) {
        broken.push(`${file}:${line}: ${target} (no such file)`);
      } else if (anchor !== undefined && resolved.endsWith('.md')
        && !anchors(fs.readFileSync(resolved, 'utf8')).has(anchor)) {
        broken.push(`${file}:${line}: ${target} (no such heading)`);
      }
    }
    expect(broken).toEqual([]);
    expect(links(text).length).toBeGreaterThan(0);
  });
});
