'use strict';
// The benchmark's outputs: a table on stdout, the numbers as JSON and a bar chart (SVG) under
// bench/results/.

const fs = require('node:fs');
const path = require('node:path');

function pad(text, width, right = false) {
  const s = String(text);
  return right ? s.padStart(width) : s.padEnd(width);
}

/** rows: [{ layer, gflop, results: { peer: { ms, gflops } | { skipped } } }] */
function printTable(rows, peers, reference) {
  const header = [pad('layer', 30), pad('GFLOP', 7, true)];
  for (const peer of peers) header.push(pad(peer, 24, true));
  for (const peer of peers) if (peer !== reference) header.push(pad(`${reference} / ${peer}`, 12, true));
  console.log(header.join(' '));
  for (const row of rows) {
    const cells = [pad(row.layer, 30), pad(row.gflop.toFixed(3), 7, true)];
    for (const peer of peers) {
      const r = row.results[peer];
      cells.push(pad(r && r.ms !== undefined ? `${r.ms.toFixed(3)} ms ${r.gflops.toFixed(1)} GF/s` : 'n/a', 24, true));
    }
    for (const peer of peers) {
      if (peer === reference) continue;
      const ratio = speedup(row, reference, peer);
      cells.push(pad(ratio === null ? 'n/a' : `${ratio.toFixed(2)}x`, 12, true));
    }
    console.log(cells.join(' '));
  }
}

/** How many times faster `reference` ran than `peer` on this row, or null. */
function speedup(row, reference, peer) {
  const a = row.results[reference], b = row.results[peer];
  if (!a || !b || a.ms === undefined || b.ms === undefined) return null;
  return b.ms / a.ms;
}

function geometricMean(values) {
  if (values.length === 0) return null;
  return Math.exp(values.reduce((s, v) => s + Math.log(v), 0) / values.length);
}

function writeJson(file, data) {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, `${JSON.stringify(data, null, 2)}\n`);
}

const COLORS = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2'];

function escapeXml(s) {
  return String(s).replace(/[<>&"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' }[c]));
}

/** Horizontal grouped bars of GFLOP/s per layer and peer. */
function writeSvg(file, rows, peers, title) {
  const bar = 9, gap = 10, labelWidth = 230, plotWidth = 560, legendHeight = 18 * peers.length + 10;
  const max = Math.max(1, ...rows.flatMap((r) => peers.map((p) => (r.results[p] && r.results[p].gflops) || 0)));
  const groupHeight = bar * peers.length + gap;
  const height = 40 + legendHeight + rows.length * groupHeight + 30;
  const x = (v) => labelWidth + (v / max) * plotWidth;
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${labelWidth + plotWidth + 80}" height="${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="10" y="20" font-size="14" font-weight="bold">${escapeXml(title)}</text>`,
  ];
  peers.forEach((p, i) => {
    const y = 34 + i * 18;
    parts.push(`<rect x="10" y="${y}" width="12" height="12" fill="${COLORS[i % COLORS.length]}"/>`);
    parts.push(`<text x="28" y="${y + 10}">${escapeXml(p)}</text>`);
  });
  const top = 40 + legendHeight;
  rows.forEach((row, r) => {
    const y0 = top + r * groupHeight;
    parts.push(`<text x="${labelWidth - 6}" y="${y0 + (bar * peers.length) / 2 + 4}" text-anchor="end">${escapeXml(row.layer)}</text>`);
    peers.forEach((p, i) => {
      const result = row.results[p];
      if (!result || result.gflops === undefined) return;
      const y = y0 + i * bar;
      parts.push(`<rect x="${labelWidth}" y="${y}" width="${(x(result.gflops) - labelWidth).toFixed(1)}" height="${bar - 1}" fill="${COLORS[i % COLORS.length]}"/>`);
      parts.push(`<text x="${(x(result.gflops) + 3).toFixed(1)}" y="${y + bar - 2}" font-size="8">${result.gflops.toFixed(1)}</text>`);
    });
  });
  const axisY = top + rows.length * groupHeight + 5;
  parts.push(`<line x1="${labelWidth}" y1="${axisY}" x2="${labelWidth + plotWidth}" y2="${axisY}" stroke="black"/>`);
  for (let t = 0; t <= 4; t++) {
    const v = (max * t) / 4;
    parts.push(`<text x="${x(v)}" y="${axisY + 14}" text-anchor="middle">${v.toFixed(0)}</text>`);
  }
  parts.push(`<text x="${labelWidth + plotWidth / 2}" y="${axisY + 27}" text-anchor="middle">GFLOP/s (higher is better)</text>`);
  parts.push('</svg>');
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, `${parts.join('\n')}\n`);
}

module.exports = { printTable, speedup, geometricMean, writeJson, writeSvg };
