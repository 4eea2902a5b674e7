'use strict';
// `npm run demo` (examples/feature-maps/demo.js) in a fresh folder: it exits 0 and its picture shows what
// the README and CONTRIBUTING.md (The demo) say: the input image unchanged, then one row per layer whose maps are as wide as the
// layer's output (256, 128, 64, 128), each row with a label in the column to its left.
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { PNG } = require('pngjs');

const root = path.join(__dirname, '..');
const demo = path.join(root, 'examples', 'feature-maps', 'demo.js');

describe('the demo', () => {
  let dir;
  let picture;
  let scene;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stridekit-demo-'));
    const r = spawnSync(process.execPath, [demo], { cwd: dir, encoding: 'utf8', timeout: 60000 });
    if (r.status !== 0) throw new Error(`demo exited with ${r.status}:\n${r.stderr}`);
    picture = PNG.sync.read(fs.readFileSync(path.join(dir, 'demo-output', 'feature-maps.png')));
    scene = PNG.sync.read(fs.readFileSync(path.join(root, 'examples', 'feature-maps', 'scene.png')));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  const rgb = (image, x, y) => Array.from(image.data.subarray((y * image.width + x) * 4, (y * image.width + x) * 4 + 3));
  const background = () => rgb(picture, 0, 0);
  /** Where the scene's first row starts in the picture, scanning row by row. */
  function findScene() {
    for (let y = 0; y + scene.height <= picture.height; y++) {
      for (let x = 0; x + scene.width <= picture.width; x++) {
        let same = true;
        for (let i = 0; i < scene.width && same; i += 17) same = rgb(picture, x + i, y).join() === rgb(scene, i, 0).join();
        if (same) return { x, y };
      }
    }
    return null;
  }
  /** The widths of the runs of non-background pixels along row y from x0 on: the maps of that row. */
  function runs(y, x0) {
    const widths = [];
    let run = 0;
    for (let x = x0; x < picture.width; x++) {
      if (rgb(picture, x, y).join() !== background().join()) run++;
      else if (run > 0) widths.push(run), (run = 0);
    }
    if (run > 0) widths.push(run);
    return widths;
  }

  test('shows the input image unchanged, then a row of maps per layer, each map at its output size', () => {
    const at = findScene();
    expect(at).not.toBeNull();
    for (const [x, y] of [[0, 0], [128, 128], [255, 255], [30, 200]]) {
      expect(rgb(picture, at.x + x, at.y + y)).toEqual(rgb(scene, x, y));
    }
    // Below the input, rows start at the same x: scan down the picture for the start of each row of maps.
    const rows = [];
    for (let y = at.y + scene.height; y < picture.height; y++) {
      const above = rgb(picture, at.x, y - 1).join() === background().join();
      const here = rgb(picture, at.x, y).join() !== background().join();
      if (above && here) rows.push(runs(y + 1, at.x));
    }
    expect(rows).toEqual([[256, 256, 256, 256], Array(8).fill(128), Array(8).fill(64), Array(8).fill(128)]);
  });

  test('labels every row in the column left of the maps', () => {
    const at = findScene();
    const ink = (y0, y1) => {
      let count = 0;
      for (let y = y0; y < y1; y++) for (let x = 0; x < at.x; x++) if (rgb(picture, x, y).join() !== background().join()) count++;
      return count;
    };
    expect(ink(at.y, at.y + 60)).toBeGreaterThan(200); // "INPUT", the file name, "3 CHANNELS 256x256"
    expect(ink(at.y + scene.height + 8, at.y + scene.height + 70)).toBeGreaterThan(200); // "1 EDGES", ...
  });
});
